import { isUuidKey, paginate } from '@carshare/storage';
import type { Kysely, Selectable } from 'kysely';
import type { Item } from '../domain/item.ts';
import type { ItemPage, ItemStore } from '../ports.ts';
import type { AnalyticsDatabase } from './analytics-database.ts';

function toItem(row: Selectable<AnalyticsDatabase['items']>): Item {
  return { id: row.id, ownerId: row.owner_id, name: row.name, createdAt: new Date(row.created_at).getTime() };
}

export class SqlItemStore implements ItemStore {
  readonly #db: Kysely<AnalyticsDatabase>;

  /** `db` is the service's database or a transaction on it. */
  constructor(db: Kysely<AnalyticsDatabase>) {
    this.#db = db;
  }

  async insert(item: Item): Promise<void> {
    await this.#db
      .insertInto('items')
      .values({ id: item.id, owner_id: item.ownerId, name: item.name, created_at: new Date(item.createdAt) })
      .execute();
  }

  async find(id: string): Promise<Item | undefined> {
    const row = await this.#db.selectFrom('items').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toItem(row);
  }

  async listByOwner(ownerId: string, page: { limit: number; cursor: string | undefined }): Promise<ItemPage> {
    const query = this.#db.selectFrom('items').selectAll().where('owner_id', '=', ownerId);
    const { items, nextCursor } = await paginate(query, { key: 'id', direction: 'desc', limit: page.limit, cursor: page.cursor, isKey: isUuidKey });
    return { items: items.map(toItem), ...(nextCursor !== undefined && { nextCursor }) };
  }
}
