import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { encodeCursor } from './cursor.ts';
import { paginate, type KeyGuard } from './paginate.ts';
import type { ServiceDatabase } from './service-database.ts';
import { openSqlEngine, type SqlEngine } from './sql-engine.ts';

interface Tables {
  items: { n: number; label: string };
}

const isNumberKey: KeyGuard<number> = (value): value is number => typeof value === 'number' && Number.isInteger(value);

describe('paginate', () => {
  let engine: SqlEngine;
  let database: ServiceDatabase<Tables>;
  before(async () => {
    engine = await openSqlEngine({ dataDir: 'memory://' });
    database = engine.forService<Tables>('paginate_test');
    await sql`create schema if not exists paginate_test`.execute(database.db);
    await sql`create table items (n int primary key, label text not null)`.execute(database.db);
    await database.db
      .insertInto('items')
      .values([1, 2, 3, 4, 5, 6, 7].map((n) => ({ n, label: n % 2 === 0 ? 'even' : 'odd' })))
      .execute();
  });
  after(async () => {
    await engine.close();
  });

  async function walk(direction: 'asc' | 'desc', label?: string): Promise<number[][]> {
    const pages: number[][] = [];
    let cursor: string | undefined;
    do {
      let select = database.db.selectFrom('items').select(['n', 'label']);
      if (label !== undefined) select = select.where('label', '=', label);
      const page = await paginate(select, { key: 'n', direction, limit: 3, cursor, isKey: isNumberKey });
      pages.push(page.items.map((row) => row.n));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return pages;
  }

  it('walks the list page by page in key order, with no cursor after the last page', async () => {
    assert.deepEqual(await walk('desc'), [[7, 6, 5], [4, 3, 2], [1]]);
    assert.deepEqual(await walk('asc'), [[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('keeps the caller\'s filters on every page', async () => {
    assert.deepEqual(await walk('desc', 'odd'), [[7, 5, 3], [1]]);
  });

  it('gives no next cursor when the last page is exactly full', async () => {
    const page = await paginate(database.db.selectFrom('items').select('n').where('n', '<=', 3), { key: 'n', direction: 'asc', limit: 3, after: undefined });
    assert.deepEqual(page, { items: [{ n: 1 }, { n: 2 }, { n: 3 }] });
  });

  it('starts after a key the caller decoded itself', async () => {
    const page = await paginate(database.db.selectFrom('items').select('n'), { key: 'n', direction: 'desc', limit: 2, after: 5 });
    assert.deepEqual(page.items, [{ n: 4 }, { n: 3 }]);
    assert.ok(page.nextCursor);
  });

  it('refuses, as INVALID_CURSOR, a cursor that is malformed or holds no key of this list', async () => {
    const list = (cursor: string) => paginate(database.db.selectFrom('items').select('n'), { key: 'n', direction: 'desc', limit: 2, cursor, isKey: isNumberKey });
    for (const cursor of ['%%%', encodeCursor(['7']), encodeCursor([7, 'extra']), encodeCursor([null]), encodeCursor([1.5])]) {
      await assert.rejects(list(cursor), { code: 'INVALID_ARGUMENT', reason: 'INVALID_CURSOR' }, cursor);
    }
  });
});
