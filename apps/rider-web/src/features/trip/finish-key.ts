import { isApiError } from '@carshare/web-client';

/**
 * Whether the Idempotency-Key of a finish (or start) attempt can be sent again after this failure.
 * The gateway keeps a key's first answer unless it asked the client to retry (5xx, 429, 401) or
 * the first attempt is still running: repeating a kept 4xx (say "outside the operating area") with
 * the same key would only replay that refusal after the rider drove into a zone, so a new attempt
 * needs a new key. Without an answer (offline, timeout) the server may have acted: keep the key
 * so pressing again joins that attempt instead of acting twice.
 */
export function keyStillUsable(error: unknown): boolean {
  if (!isApiError(error)) return true;
  if (error.status === 0 || error.status >= 500 || error.status === 429 || error.status === 401) return true;
  return error.code === 'IDEMPOTENCY_KEY_IN_USE';
}
