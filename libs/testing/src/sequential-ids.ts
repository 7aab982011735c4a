import type { IdGenerator } from '@carshare/platform';

/**
 * UUID-shaped ids from a counter (`…-000000000001`, `…-000000000002`): they sort by creation as
 * UUIDv7 ids do, so keyset pages and "newest first" behave as in production, and a failing
 * test names ids a person can tell apart.
 */
export class SequentialIds implements IdGenerator {
  #last = 0;

  next(): string {
    this.#last += 1;
    return `00000000-0000-7000-8000-${this.#last.toString(16).padStart(12, '0')}`;
  }
}
