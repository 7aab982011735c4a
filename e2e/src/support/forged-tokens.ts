import { createHmac, randomUUID } from 'node:crypto';
import type { EmbeddedPlatform } from '@carshare/cli';
import { userDescriptor, type UserModule } from '@carshare/user-service';
import { accessTokenAudience, accessTokenIssuer, uuidV7Ids, type Clock, type IdGenerator } from '@carshare/platform';
import { SignJWT, decodeProtectedHeader, generateKeyPair } from 'jose';

type Signer = UserModule['signer'];
type SignerUser = Parameters<Signer['sign']>[0];
type SignerConstructor = new (
  database: ReturnType<EmbeddedPlatform['engine']['forService']>,
  clock: Clock,
  ids: IdGenerator,
  options: {
    accessTokenTtlSeconds: number;
    reloadIntervalMs: number;
    logger: EmbeddedPlatform['logger'];
    metrics: { reloaded(atMs: number): void; reloadFailed(): void };
  },
) => Signer;

export interface TokenSubject {
  id: string;
  role: 'rider' | 'operator' | 'admin';
  plan: string;
  /** The `sid` to sign in; a session never opened when left out. */
  sessionId?: string;
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function partsOf(token: string): [string, string, string] {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined) throw new Error('not a JWS compact token');
  return [header, payload, signature];
}

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(partsOf(token)[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * An access token the platform itself signed, with the platform's current key and the real
 * signing code, but issued so long ago that it has expired. The module's own signer reads the
 * wall clock, so a second instance of the same class is made over the same key table with a
 * clock fixed in the past. The running platform has an active key, so start() only loads it
 * (the kid check below makes sure).
 */
export async function expiredAccessToken(platform: EmbeddedPlatform, subject: TokenSubject, expiredForMs = 10 * 60_000): Promise<string> {
  const ttlSeconds = 900;
  const Signer = platform.module(userDescriptor).signer.constructor as SignerConstructor;
  const published = new Set((await platform.module(userDescriptor).signer.jwks()).keys.map((key) => key.kid));
  const issuedAt = Date.now() - ttlSeconds * 1000 - expiredForMs;
  const clock: Clock = { now: () => issuedAt };
  const signer = new Signer(platform.engine.forService('user'), clock, uuidV7Ids, {
    accessTokenTtlSeconds: ttlSeconds,
    reloadIntervalMs: 3_600_000,
    logger: platform.logger,
    // A throwaway signer: its reloads are nobody's series.
    metrics: { reloaded: () => undefined, reloadFailed: () => undefined },
  });
  await signer.start();
  try {
    const user: SignerUser = {
      id: subject.id,
      email: 'unused@example.com',
      displayName: 'unused',
      role: subject.role,
      plan: subject.plan as SignerUser['plan'],
      status: 'active',
      suspendedReason: undefined,
      emailVerified: true,
      createdAt: clock.now(),
    };
    const { token } = await signer.sign(user, subject.sessionId ?? randomUUID());
    const { kid } = decodeProtectedHeader(token);
    // If the second signer had created a key instead, the test would prove nothing about expiry.
    if (kid === undefined || !published.has(kid)) throw new Error(`expired token signed with unpublished key ${kid}`);
    return token;
  } finally {
    signer.stop();
  }
}

/** The same claims, another role: the signature no longer matches the payload. */
export function withTamperedClaims(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = partsOf(token);
  return `${header}.${b64({ ...claimsOf(token), ...changes })}.${signature}`;
}

/** One bit of the signature flipped. */
export function withFlippedSignatureBit(token: string, bit = 0): string {
  const [header, payload, signature] = partsOf(token);
  const bytes = Buffer.from(signature, 'base64url');
  const index = Math.floor(bit / 8) % bytes.length;
  bytes[index] = (bytes[index] ?? 0) ^ (1 << (bit % 8));
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}

/** The classic: `alg: none`, valid-looking claims, empty signature. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/** Valid claims for `subject`, as the platform would put them, with times around now. */
export function plausibleClaims(subject: TokenSubject, nowMs = Date.now()): Record<string, unknown> {
  const now = Math.floor(nowMs / 1000);
  return { role: subject.role, plan: subject.plan, sub: subject.id, iss: accessTokenIssuer, aud: accessTokenAudience, iat: now, nbf: now, exp: now + 900, jti: randomUUID() };
}

/** Signed by an Ed25519 key the platform never saw, optionally claiming a real `kid`. */
export async function foreignKeyToken(subject: TokenSubject, kid: string = randomUUID()): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  return new SignJWT(plausibleClaims(subject)).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' }).sign(privateKey);
}

/** HS256 with the platform's public key as the HMAC secret: the key-confusion attack. */
export function hmacKeyConfusionToken(subject: TokenSubject, publicKeyX: string, kid: string): string {
  const signingInput = `${b64({ alg: 'HS256', kid, typ: 'JWT' })}.${b64(plausibleClaims(subject))}`;
  const signature = createHmac('sha256', publicKeyX).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
