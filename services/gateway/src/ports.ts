/** The answer to a request as it went out, kept so a retry with the same key gets it again. */
export interface StoredResponse {
  status: number;
  /** Empty when the answer had no body type (a 204). */
  contentType: string;
  /** The serialised body, exactly as sent. */
  body: string;
}

/** What a claim on an idempotency key found. */
export type IdempotencyClaim =
  /** Nobody holds the key (or the holder's lock expired): the caller runs the request and settles it with `token`. */
  | { outcome: 'claimed'; token: string }
  /** Another request with this key is still running. */
  | { outcome: 'in-flight'; fingerprint: string }
  /** A request with this key has finished; its answer is kept. */
  | { outcome: 'completed'; fingerprint: string; response: StoredResponse };

/**
 * Idempotency keys and the answers they produced, shared by every gateway instance that shares
 * the store. `key` is already scoped to its caller. `now` comes from the gateway's clock, so
 * expiry is decided on one clock however many instances (and Redis) are involved.
 *
 * A claim is atomic: of any number of concurrent claims on a free key exactly one is `claimed`.
 * The in-flight lock lasts the store's lock time, so a request that died holding it does not
 * block its key for good; a completed answer lasts the store's retention time.
 */
export interface IdempotencyStore {
  claim(key: string, fingerprint: string, now: number): Promise<IdempotencyClaim>;
  /** Keeps the answer. False when the lock is no longer this token's (it expired and was taken over). */
  complete(key: string, token: string, response: StoredResponse, now: number): Promise<boolean>;
  /** Frees the key without an answer, so the client may retry. False when the lock is no longer this token's. */
  release(key: string, token: string): Promise<boolean>;
  close(): Promise<void>;
}
