import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import type { User } from '../domain/user.ts';
import type { AccessTokenSigner } from '../ports.ts';

/**
 * Records whom it signed for and returns a readable stand-in token. Signing and verifying real
 * tokens is JoseAccessTokenSigner's test, and the PGlite suite's.
 */
export class FakeAccessTokenSigner implements AccessTokenSigner {
  /** The users as they were when a token was signed for them, oldest first. */
  readonly signed: User[] = [];
  /** The session of each signed token, in the same order. */
  readonly sessions: string[] = [];
  readonly #expiresIn: number;

  constructor(expiresIn = 900) {
    this.#expiresIn = expiresIn;
  }

  get tokenTtlMs(): number {
    return this.#expiresIn * 1000;
  }

  async sign(user: User, sessionId: string): Promise<{ token: string; expiresIn: number }> {
    this.signed.push({ ...user });
    this.sessions.push(sessionId);
    return { token: `fake-access-token.${user.id}.${user.role}.${user.plan}.${this.signed.length}`, expiresIn: this.#expiresIn };
  }

  async jwks(): Promise<JSONWebKeySet> {
    return { keys: [] };
  }

  readonly keyLookup: JWTVerifyGetKey = () => Promise.reject(new Error('FakeAccessTokenSigner tokens do not verify: use JoseAccessTokenSigner'));
}
