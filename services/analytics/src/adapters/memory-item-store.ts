import { decodeCursorKey, encodeCursor, isUuidKey } from '@carshare/storage';
import type { Item } from '../domain/item.ts';
import type { ItemPage, ItemStore } from '../ports.ts';

/** Items in memory, for use-case tests; the contract suite holds it to the SQL store's behaviour. */
export class MemoryItemStore implements ItemStore {
  readonly #items = new Map<string, Item>();

  async insert(item: Item): Promise<void> {
    this.#items.set(item.id, { ...item });
  }

  async find(id: string): Promise<Item | undefined> {
    const item = this.#items.get(id);
    return item && { ...item };
  }

  async listByOwner(ownerId: string, page: { limit: number; cursor: string | undefined }): Promise<ItemPage> {
    const after = page.cursor === undefined ? undefined : decodeCursorKey(page.cursor, isUuidKey);
    const owned = [...this.#items.values()]
      .filter((item) => item.ownerId === ownerId && (after === undefined || item.id < after))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const items = owned.slice(0, page.limit).map((item) => ({ ...item }));
    const last = items.at(-1);
    return owned.length > page.limit && last ? { items, nextCursor: encodeCursor([last.id]) } : { items };
  }
}
