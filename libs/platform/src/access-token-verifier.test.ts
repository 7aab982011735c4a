import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { accessTokenAudience, accessTokenIssuer, createAccessTokenVerifier } from './access-token-verifier.ts';
import { AppError } from './errors.ts';

const start = Date.parse('2026-01-01T00:00:00Z');
let now = start;
const clock = { now: () => now };

let privateKey: CryptoKey;
let keys: JWTVerifyGetKey;

async function token(claims: Record<string, unknown> = {}, options: { exp?: number; iat?: number; iss?: string; aud?: string; kid?: string; key?: CryptoKey } = {}) {
  const iat = options.iat ?? Math.floor(start / 1000);
  return new SignJWT({ role: 'rider', plan: 'free', ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: options.kid ?? 'k1' })
    .setSubject('user-1')
    .setIssuer(options.iss ?? accessTokenIssuer)
    .setAudience(options.aud ?? accessTokenAudience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(options.exp ?? iat + 900)
    .sign(options.key ?? privateKey);
}

function reasonOf(error: unknown): string {
  assert.ok(error instanceof AppError);
  assert.equal(error.code, 'UNAUTHENTICATED');
  return error.reason;
}

describe('access token verifier', () => {
  before(async () => {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    privateKey = pair.privateKey;
    keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA' }] });
  });

  it('accepts a good token and returns the caller it names', async () => {
    now = start;
    const verifier = createAccessTokenVerifier({ keys, clock });
    const raw = await token();
    assert.deepEqual(await verifier.verify(raw), { userId: 'user-1', role: 'rider', plan: 'free', token: raw, issuedAtMs: start });
    const withSession = await token({ sid: 'session-1' });
    assert.equal((await verifier.verify(withSession)).sessionId, 'session-1');
  });

  it('refuses an iat in the future (beyond 5 s of skew), an over-long life and a token older than the maximum age', async () => {
    now = start;
    const verifier = createAccessTokenVerifier({ keys, clock, maxTokenAgeMs: 60 * 60_000 });
    const iat = Math.floor(start / 1000);
    await verifier.verify(await token({}, { iat: iat + 5 }));
    await assert.rejects(verifier.verify(await token({}, { iat: iat + 60, exp: iat + 900 })), (error) => reasonOf(error) === 'INVALID_TOKEN');
    // Ten years of life, freshly issued: refused at once, not only after an hour.
    await assert.rejects(verifier.verify(await token({}, { exp: iat + 10 * 365 * 86_400 })), (error) => reasonOf(error) === 'INVALID_TOKEN');
    await assert.rejects(verifier.verify(await token({}, { exp: iat + 3_601 })), (error) => reasonOf(error) === 'INVALID_TOKEN');
    await verifier.verify(await token({}, { exp: iat + 3_600 }));
    // An hour-long token stops at its maximum age whether or not its check was cached.
    const hourLong = await token({}, { exp: iat + 3_600 });
    await verifier.verify(hourLong);
    now = start + 3_600_000 + 5_000;
    await assert.rejects(createAccessTokenVerifier({ keys, clock, maxTokenAgeMs: 30 * 60_000 }).verify(hourLong));
    await assert.rejects(verifier.verify(hourLong), (error) => reasonOf(error) === 'TOKEN_EXPIRED');
  });

  it('accepts a token 5 s past exp (clock skew) and refuses it 1 s later, cached or not', async () => {
    const raw = await token();
    const exp = start + 900_000;
    for (const cached of [false, true]) {
      const verifier = createAccessTokenVerifier({ keys, clock });
      now = start;
      if (cached) await verifier.verify(raw);
      now = exp + 4_999;
      await verifier.verify(raw);
      now = exp + 5_000;
      await assert.rejects(verifier.verify(raw), (error) => reasonOf(error) === 'TOKEN_EXPIRED');
    }
  });

  it('answers 503, not 401, when the keys cannot be fetched', async () => {
    now = start;
    const failingKeys: JWTVerifyGetKey = async () => {
      throw new TypeError('fetch failed');
    };
    const verifier = createAccessTokenVerifier({ keys: failingKeys, clock });
    await assert.rejects(verifier.verify(await token()), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'UNAVAILABLE');
      assert.equal(error.reason, 'AUTH_KEYS_UNAVAILABLE');
      return true;
    });
  });

  it('refuses alg none, a foreign key, a tampered payload, a wrong issuer or audience, and garbage', async () => {
    now = start;
    const verifier = createAccessTokenVerifier({ keys, clock });
    const good = await token();
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url');
    const tamperedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
    const foreign = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const candidates = [
      `${noneHeader}.${payload}.`,
      `${header}.${tamperedPayload}.${signature}`,
      await token({}, { key: foreign.privateKey }),
      await token({}, { iss: 'someone-else' }),
      await token({}, { aud: 'another-api' }),
      await token({ role: 'superuser' }),
      'not-a-jwt',
    ];
    for (const candidate of candidates) {
      await assert.rejects(verifier.verify(candidate), (error) => reasonOf(error) === 'INVALID_TOKEN');
    }
  });
});
