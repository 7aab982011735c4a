import type { EventEnvelope } from '@carshare/contracts';
import type { ErrorSummary } from './describe-error.ts';

export interface DeadLetter {
  /** Our own id (UUIDv7), not the event's: the same event can die in several groups. */
  id: string;
  group: string;
  event: EventEnvelope;
  error: ErrorSummary;
  attempts: number;
  /** The event's trace context, so the failure can be found next to its producer's spans. */
  traceparent?: string;
  /** ISO time of the last failure. */
  failedAt: string;
}

export type NewDeadLetter = Omit<DeadLetter, 'id' | 'failedAt'>;

/** What a consumer needs: somewhere to put an event it gave up on. */
export interface DeadLetterSink {
  /** Idempotent per (group, event id): a second failure of the same event updates the record. */
  add(letter: NewDeadLetter): Promise<void>;
}

export interface DeadLetterQuery {
  group?: string;
  /** An event type or a topic pattern (`user.*`, `car.#`). */
  topic?: string;
  /** 1–500, default 50. */
  limit?: number;
  cursor?: string;
}

export interface DeadLetterPage {
  items: DeadLetter[];
  /** Absent on the last page. */
  nextCursor?: string;
}

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
