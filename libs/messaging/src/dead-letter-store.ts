import { InvalidArgument } from '@carshare/platform';
import type { DeadLetterPage, DeadLetterQuery, DeadLetterRecord } from '@carshare/contracts';

/** The wire shape lives in contracts (operators read it through RPC and the gateway). */
export type DeadLetter = DeadLetterRecord;

export type NewDeadLetter = Omit<DeadLetter, 'id' | 'failedAt'>;

/** What a consumer needs: somewhere to put an event it gave up on. */
export interface DeadLetterSink {
  /** Idempotent per (group, event id): a second failure of the same event updates the record. */
  add(letter: NewDeadLetter): Promise<void>;
}

/** `topic` is an event type or a topic pattern (`user.*`, `car.#`); `limit` 1–500, default 50. */
export type { DeadLetterQuery };

/** `nextCursor` is absent on the last page. */
export type { DeadLetterPage };

/** Newest first. */
export interface DeadLetterStore extends DeadLetterSink {
  list(query?: DeadLetterQuery): Promise<DeadLetterPage>;
  get(id: string): Promise<DeadLetter | undefined>;
  /** False when there was nothing to delete. */
  delete(id: string): Promise<boolean>;
  countByGroup(): Promise<Map<string, number>>;
}

export const defaultPageLimit = 50;
export const maxPageLimit = 500;

/** Checks a requested page size; absent means the default. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return defaultPageLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageLimit) {
    throw InvalidArgument('INVALID_LIMIT', `limit must be an integer from 1 to ${maxPageLimit}`);
  }
  return limit;
}
