import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uuidV7Ids } from '@carshare/platform';
import type { Item } from '../domain/item.ts';
import type { ItemStore } from '../ports.ts';

export interface ItemStoreUnderTest {
  store: ItemStore;
  close(): Promise<void>;
}

/** What every ItemStore does, run against each adapter (memory, PGlite, PostgreSQL). */
export function itemStoreContract(adapter: string, open: () => Promise<ItemStoreUnderTest>): void {
  describe(`ItemStore contract: ${adapter}`, () => {
    let subject: ItemStoreUnderTest;
    before(async () => {
      subject = await open();
    });
    after(() => subject.close());

    const owner = uuidV7Ids.next();
    const itemOf = (ownerId: string, name: string): Item => ({ id: uuidV7Ids.next(), ownerId, name, createdAt: Date.UTC(2026, 0, 1) });

    it('finds what it stored, and nothing it did not', async () => {
      const item = itemOf(owner, 'spare key');
      await subject.store.insert(item);
      assert.deepEqual(await subject.store.find(item.id), item);
      assert.equal(await subject.store.find(uuidV7Ids.next()), undefined);
    });

    it("lists one owner's items newest first, page by page, without repeats or gaps", async () => {
      const lister = uuidV7Ids.next();
      const stored: Item[] = [];
      for (let index = 0; index < 5; index += 1) stored.push(itemOf(lister, `item ${index}`));
      for (const item of stored) await subject.store.insert(item);
      await subject.store.insert(itemOf(uuidV7Ids.next(), 'not theirs'));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await subject.store.listByOwner(lister, { limit: 2, cursor });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      assert.deepEqual(seen, stored.map((item) => item.id).reverse());
    });

    it('refuses a cursor it did not give out', async () => {
      await assert.rejects(subject.store.listByOwner(owner, { limit: 2, cursor: 'not-a-cursor' }), { reason: 'INVALID_CURSOR' });
    });
  });
}
