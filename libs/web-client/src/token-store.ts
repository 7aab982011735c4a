/** What the client keeps of a session between calls. */
export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds, from the login's `expiresIn` and the client's clock. */
  expiresAtMs: number;
}

/** Where the session's tokens live: memory in tests, the browser's storage in the apps. */
export interface TokenStore {
  load(): SessionTokens | undefined;
  save(tokens: SessionTokens | undefined): void;
}

export class MemoryTokenStore implements TokenStore {
  #tokens: SessionTokens | undefined;

  constructor(initial?: SessionTokens) {
    this.#tokens = initial;
  }

  load(): SessionTokens | undefined {
    return this.#tokens;
  }

  save(tokens: SessionTokens | undefined): void {
    this.#tokens = tokens;
  }
}

/** The subset of the Web Storage API a store needs, so this package names no DOM global. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Keeps the session across reloads in `localStorage` (passed in). A script injected into the page
 * could read it; the apps are served with a CSP that admits no inline or foreign script, which is
 * what stands between an XSS and the tokens. A corrupt entry reads as no session.
 */
export class StorageTokenStore implements TokenStore {
  readonly #storage: KeyValueStorage;
  readonly #key: string;

  constructor(storage: KeyValueStorage, key: string) {
    this.#storage = storage;
    this.#key = key;
  }

  load(): SessionTokens | undefined {
    const raw = this.#storage.getItem(this.#key);
    if (raw === null) return undefined;
    try {
      const value = JSON.parse(raw) as Partial<SessionTokens>;
      if (typeof value.accessToken === 'string' && typeof value.refreshToken === 'string' && typeof value.expiresAtMs === 'number') {
        return { accessToken: value.accessToken, refreshToken: value.refreshToken, expiresAtMs: value.expiresAtMs };
      }
    } catch {
      // fall through: treated as signed out
    }
    this.#storage.removeItem(this.#key);
    return undefined;
  }

  save(tokens: SessionTokens | undefined): void {
    if (tokens) this.#storage.setItem(this.#key, JSON.stringify(tokens));
    else this.#storage.removeItem(this.#key);
  }
}
