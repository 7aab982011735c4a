import { systemClock, uuidV7Ids, type Clock, type IdGenerator } from '@carshare/platform';
import type { Registry } from 'prom-client';
import { decodeCursorKey, encodeCursor, isUuidKey } from '@carshare/storage';
import {
  pageLimit,
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterQuery,
  type DeadLetterStore,
  type NewDeadLetter,
} from './dead-letter-store.ts';
import { messagingMetricNames, registerGaugeSource } from './messaging-metrics.ts';
import { topicMatcher } from './topic-pattern.ts';

/** Dead letters kept in memory: for tests and for consumers that own no database. */
export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly #letters = new Map<string, DeadLetter>();
  readonly #clock: Clock;
  readonly #ids: IdGenerator;

  constructor(options: { clock?: Clock; ids?: IdGenerator; registry?: Registry } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? uuidV7Ids;
    if (options.registry) {
      registerGaugeSource(options.registry, messagingMetricNames.deadLetters, 'Dead letters waiting, by consumer group', ['group'], async () =>
        [...(await this.countByGroup())].map(([group, value]) => ({ labels: { group }, value })),
      );
    }
  }

  async add(letter: NewDeadLetter): Promise<void> {
    const failedAt = new Date(this.#clock.now()).toISOString();
    for (const existing of this.#letters.values()) {
      if (existing.group === letter.group && existing.event.id === letter.event.id) {
        Object.assign(existing, { ...letter, failedAt });
        return;
      }
    }
    const id = this.#ids.next();
    this.#letters.set(id, { ...letter, id, failedAt });
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetterPage> {
    const limit = pageLimit(query.limit);
    const matches = query.topic ? topicMatcher([query.topic]) : () => true;
    const after = query.cursor === undefined ? undefined : decodeCursorKey(query.cursor, isUuidKey);
    const sorted = [...this.#letters.values()]
      .filter((letter) => (!query.group || letter.group === query.group) && matches(letter.event.type))
      .filter((letter) => after === undefined || letter.id < after)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const items = sorted.slice(0, limit).map((letter) => structuredClone(letter));
    const last = items.at(-1);
    return sorted.length > limit && last ? { items, nextCursor: encodeCursor([last.id]) } : { items };
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const letter = this.#letters.get(id);
    return letter && structuredClone(letter);
  }

  async delete(id: string): Promise<boolean> {
    return this.#letters.delete(id);
  }

  async countByGroup(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const letter of this.#letters.values()) counts.set(letter.group, (counts.get(letter.group) ?? 0) + 1);
    return counts;
  }
}
