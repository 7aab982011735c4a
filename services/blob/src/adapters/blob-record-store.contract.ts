import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BlobPurpose } from '@carshare/contracts';
import { uuidV7Ids } from '@carshare/platform';
import { newPendingBlob, type Blob } from '../domain/blob.ts';
import type { BlobRecordStore } from '../ports.ts';

export interface BlobRecordStoreUnderTest {
  store: BlobRecordStore;
  close(): Promise<void>;
}

const hash = 'a'.repeat(64);

/** What every BlobRecordStore does, run against each adapter (memory, PGlite, PostgreSQL). */
export function blobRecordStoreContract(adapter: string, open: () => Promise<BlobRecordStoreUnderTest>): void {
  describe(`BlobRecordStore contract: ${adapter}`, () => {
    let subject: BlobRecordStoreUnderTest;
    before(async () => {
      subject = await open();
    });
    after(() => subject.close());

    const blobOf = (ownerId: string, purpose: BlobPurpose = 'selfie', now = Date.UTC(2026, 0, 1)): Blob =>
      newPendingBlob({ id: uuidV7Ids.next(), ownerId, purpose, contentType: 'image/jpeg', declaredSizeBytes: 1000, now });

    it('finds what it stored, and nothing it did not', async () => {
      const blob = blobOf(uuidV7Ids.next());
      await subject.store.insert(blob);
      assert.deepEqual(await subject.store.find(blob.id), blob);
      assert.equal(await subject.store.find(uuidV7Ids.next()), undefined);
    });

    it('marks a pending blob uploaded once: a second completion matches nothing', async () => {
      const blob = blobOf(uuidV7Ids.next());
      await subject.store.insert(blob);
      const stored = { sizeBytes: 900, sha256: hash, uploadedAt: Date.UTC(2026, 0, 2) };
      const uploaded = await subject.store.markUploaded(blob.id, stored);
      assert.deepEqual(uploaded, { ...blob, status: 'uploaded', ...stored });
      assert.deepEqual(await subject.store.find(blob.id), uploaded);
      assert.equal(await subject.store.markUploaded(blob.id, { ...stored, sizeBytes: 1 }), undefined);
      assert.equal(await subject.store.markUploaded(uuidV7Ids.next(), stored), undefined);
    });

    it('deletes a record and returns it; deleteIfPending leaves an uploaded one', async () => {
      const pending = blobOf(uuidV7Ids.next());
      const uploaded = blobOf(uuidV7Ids.next());
      await subject.store.insert(pending);
      await subject.store.insert(uploaded);
      await subject.store.markUploaded(uploaded.id, { sizeBytes: 1, sha256: hash, uploadedAt: 1 });
      assert.equal(await subject.store.deleteIfPending(uploaded.id), undefined);
      assert.equal((await subject.store.find(uploaded.id))?.status, 'uploaded');
      assert.deepEqual(await subject.store.deleteIfPending(pending.id), pending);
      assert.equal(await subject.store.find(pending.id), undefined);
      assert.equal((await subject.store.delete(uploaded.id))?.id, uploaded.id);
      assert.equal(await subject.store.find(uploaded.id), undefined);
      assert.equal(await subject.store.delete(uploaded.id), undefined);
    });

    it("lists one owner's blobs newest first, page by page, without repeats or gaps, filtered by purpose", async () => {
      const owner = uuidV7Ids.next();
      const stored: Blob[] = [];
      for (let index = 0; index < 5; index += 1) stored.push(blobOf(owner, index % 2 === 0 ? 'selfie' : 'licence_front'));
      for (const blob of stored) await subject.store.insert(blob);
      await subject.store.insert(blobOf(uuidV7Ids.next()));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await subject.store.listByOwner(owner, { purpose: undefined, limit: 2, cursor });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((blob) => blob.id));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      assert.deepEqual(seen, stored.map((blob) => blob.id).reverse());
      const selfies = await subject.store.listByOwner(owner, { purpose: 'selfie', limit: 10, cursor: undefined });
      assert.deepEqual(selfies.items.map((blob) => blob.id), stored.filter((blob) => blob.purpose === 'selfie').map((blob) => blob.id).reverse());
    });

    it('refuses a cursor it did not give out', async () => {
      await assert.rejects(subject.store.listByOwner(uuidV7Ids.next(), { purpose: undefined, limit: 2, cursor: 'not-a-cursor' }), { reason: 'INVALID_CURSOR' });
    });

    it('lists pending blobs created before a time, oldest first, and no uploaded ones', async () => {
      const owner = uuidV7Ids.next();
      // Far in the past, so other tests' rows (2026) are not older.
      const old = blobOf(owner, 'selfie', Date.UTC(2001, 0, 2));
      const older = blobOf(owner, 'selfie', Date.UTC(2001, 0, 1));
      const done = blobOf(owner, 'selfie', Date.UTC(2001, 0, 1));
      const recent = blobOf(owner, 'selfie', Date.UTC(2001, 0, 10));
      for (const blob of [old, older, done, recent]) await subject.store.insert(blob);
      await subject.store.markUploaded(done.id, { sizeBytes: 1, sha256: hash, uploadedAt: Date.UTC(2001, 0, 1) });
      const stale = await subject.store.listPendingCreatedBefore(Date.UTC(2001, 0, 5), 10);
      assert.deepEqual(stale.map((blob) => blob.id), [older.id, old.id]);
      assert.deepEqual((await subject.store.listPendingCreatedBefore(Date.UTC(2001, 0, 5), 1)).map((blob) => blob.id), [older.id]);
    });
  });
}
