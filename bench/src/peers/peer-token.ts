import { createHmac, randomUUID } from 'node:crypto';

/** What the peers' bearer check (bench/peers/src/bearer.mjs) accepts: iss, aud, sub, exp. */
export const peerIssuer = 'carshare-peers';
export const peerAudience = 'carshare';

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An HS256 JWT for the peers' rider, with the claims ours carry (role, plan, iat, exp, a jti), so
 * its header is about as long as our access token's and parsing it costs the peers as much.
 */
export function signPeerToken(secret: string, riderId: string, ttlSec = 3_600): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url({ alg: 'HS256', typ: 'JWT', kid: 'peers-1' });
  const payload = base64url({ iss: peerIssuer, aud: peerAudience, sub: riderId, role: 'rider', plan: 'free', iat: now, exp: now + ttlSec, jti: randomUUID() });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
