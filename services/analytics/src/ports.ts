import type { Clock, IdGenerator } from '@carshare/platform';
import type { Item } from './domain/item.ts';

export interface ItemPage {
  items: Item[];
  nextCursor?: string;
}

/** Where items live: SQL in the service's own schema, or memory in use-case tests. */
export interface ItemStore {
  insert(item: Item): Promise<void>;
  find(id: string): Promise<Item | undefined>;
  /** Newest first; the cursor is one this store gave out (INVALID_CURSOR otherwise). */
  listByOwner(ownerId: string, page: { limit: number; cursor: string | undefined }): Promise<ItemPage>;
}

export interface AnalyticsPorts {
  items: ItemStore;
  clock: Clock;
  ids: IdGenerator;
}
