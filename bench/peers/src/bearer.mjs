/* global Buffer */
/**
 * The peers' "JWT-ish" bearer check, shaped like ours (libs/platform access-token-verifier.ts):
 * a signed JWT (HS256 here, from node:crypto, where ours is EdDSA through jose), with issuer,
 * audience and expiry checked, and each verified token remembered until it expires, so a
 * rider's burst of calls pays for one signature check; the expiry is checked on every hit.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const peerIssuer = 'carshare-peers';
export const peerAudience = 'carshare';

export function createBearerVerifier(secret, cacheSize = 10_000) {
  const cache = new Map();
  const verifySignature = (token) => {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts;
    const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    if (head.alg !== 'HS256') return undefined;
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  };

  /** The caller `{ userId, role, plan }` of an `authorization` header value, or undefined (401). */
  return function verifyBearer(authorization, now = Date.now()) {
    if (typeof authorization !== 'string' || !authorization.startsWith('Bearer ')) return undefined;
    const token = authorization.slice(7);
    const cached = cache.get(token);
    if (cached) {
      if (now < cached.expiresAtMs) return cached.caller;
      cache.delete(token);
      return undefined;
    }
    let claims;
    try {
      claims = verifySignature(token);
    } catch {
      return undefined;
    }
    if (!claims || claims.iss !== peerIssuer || claims.aud !== peerAudience) return undefined;
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return undefined;
    const caller = { userId: claims.sub, role: claims.role, plan: claims.plan };
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value);
    cache.set(token, { caller, expiresAtMs: claims.exp * 1000 });
    return caller;
  };
}
