import { NotFound } from '@carshare/platform';
import type { DeadLetter, DeadLetterPage, DeadLetterQuery, DeadLetterStore } from './dead-letter-store.ts';
import type { EventBus } from './event-bus.ts';

/**
 * What an operator can do with a service's dead letters; the service's RPC handlers for the
 * gateway's /v1/admin/dead-letters endpoints call these one-to-one.
 */
export class DeadLetterAdmin {
  readonly #store: DeadLetterStore;
  readonly #bus: Pick<EventBus, 'redeliver'>;

  constructor(options: { store: DeadLetterStore; bus: Pick<EventBus, 'redeliver'> }) {
    this.#store = options.store;
    this.#bus = options.bus;
  }

  list(query: DeadLetterQuery = {}): Promise<DeadLetterPage> {
    return this.#store.list(query);
  }

  async get(id: string): Promise<DeadLetter> {
    const letter = await this.#store.get(id);
    if (!letter) throw NotFound('DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`, { id });
    return letter;
  }

  /**
   * Sends the event to its group again (that group only, as a first attempt), then removes the
   * record. Redelivery is confirmed before the delete, so a crash in between re-sends at worst,
   * and the group's inbox absorbs that.
   */
  async replay(id: string): Promise<DeadLetter> {
    const letter = await this.get(id);
    await this.#bus.redeliver(letter.group, letter.event);
    await this.#store.delete(id);
    return letter;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.#store.delete(id))) throw NotFound('DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`, { id });
  }
}
