/** What a verified access token says about itself that revocation looks at. */
export interface TokenFacts {
  userId: string;
  /** `sid`: the login session (refresh-token family); absent on tokens of older issuers. */
  sessionId?: string | undefined;
  /** `iat` in epoch ms. */
  issuedAtMs: number;
}

interface UserEntry {
  /** Tokens issued at or before this instant are dead (a suspension, a password change). */
  revokedBeforeMs: number;
  deniedUntilMs: number;
}

/**
 * Access tokens that must stop working before they expire (issue 13 finding 1): whole users
 * (every token issued up to an instant) and single sessions (`sid`). Each entry is kept only as
 * long as a token it denies could still be alive (`deniedUntil`, the revoked tokens' last
 * expiry), so the list is bounded by the revocations of one token lifetime; `maxEntries` caps it
 * beyond that by dropping the entries that expire first.
 */
export class DenyList {
  readonly #users = new Map<string, UserEntry>();
  readonly #sessions = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(options: { now: () => number; maxEntries?: number }) {
    this.#now = options.now;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  revokeUser(userId: string, revokedBeforeMs: number, deniedUntilMs: number): void {
    if (deniedUntilMs <= this.#now()) return;
    const existing = this.#users.get(userId);
    this.#users.set(userId, {
      revokedBeforeMs: Math.max(existing?.revokedBeforeMs ?? 0, revokedBeforeMs),
      deniedUntilMs: Math.max(existing?.deniedUntilMs ?? 0, deniedUntilMs),
    });
    this.#prune();
  }

  revokeSession(sessionId: string, deniedUntilMs: number): void {
    if (deniedUntilMs <= this.#now()) return;
    this.#sessions.set(sessionId, Math.max(this.#sessions.get(sessionId) ?? 0, deniedUntilMs));
    this.#prune();
  }

  isDenied(token: TokenFacts): boolean {
    const now = this.#now();
    const user = this.#users.get(token.userId);
    if (user && now < user.deniedUntilMs && token.issuedAtMs <= user.revokedBeforeMs) return true;
    if (token.sessionId === undefined) return false;
    const sessionUntil = this.#sessions.get(token.sessionId);
    return sessionUntil !== undefined && now < sessionUntil;
  }

  get size(): number {
    return this.#users.size + this.#sessions.size;
  }

  /** Forgets what can no longer deny anything; over the cap, what would be forgotten soonest. */
  #prune(): void {
    if (this.size <= this.#maxEntries) return;
    const now = this.#now();
    for (const [userId, entry] of this.#users) if (entry.deniedUntilMs <= now) this.#users.delete(userId);
    for (const [sessionId, until] of this.#sessions) if (until <= now) this.#sessions.delete(sessionId);
    while (this.size > this.#maxEntries) {
      const [oldestSession] = this.#sessions.keys();
      if (oldestSession !== undefined) this.#sessions.delete(oldestSession);
      else {
        const [oldestUser] = this.#users.keys();
        if (oldestUser === undefined) break;
        this.#users.delete(oldestUser);
      }
    }
  }
}
