import type { BlobPurpose } from '@carshare/contracts';
import { decodeCursorKey, encodeCursor, isUuidKey } from '@carshare/storage';
import { MemoryTable, type HasMemoryTables } from '@carshare/testing';
import type { Blob } from '../domain/blob.ts';
import type { BlobPage, BlobRecordStore } from '../ports.ts';

/** Blob records in memory, for use-case tests; the contract suite holds it to the SQL store's behaviour. */
export class MemoryBlobRecordStore implements BlobRecordStore, HasMemoryTables {
  readonly #rows = new MemoryTable<Blob>();

  async insert(blob: Blob): Promise<void> {
    if (this.#rows.has(blob.id)) throw new Error(`blob ${blob.id} exists`);
    this.#rows.set(blob.id, { ...blob });
  }

  async find(id: string): Promise<Blob | undefined> {
    const row = this.#rows.get(id);
    return row && { ...row };
  }

  async markUploaded(id: string, stored: { sizeBytes: number; sha256: string; uploadedAt: number }): Promise<Blob | undefined> {
    const row = this.#rows.get(id);
    if (row?.status !== 'pending') return undefined;
    const uploaded: Blob = { ...row, status: 'uploaded', ...stored };
    this.#rows.set(id, uploaded);
    return { ...uploaded };
  }

  async delete(id: string): Promise<Blob | undefined> {
    const row = this.#rows.get(id);
    if (row) this.#rows.delete(id);
    return row && { ...row };
  }

  async deleteIfPending(id: string): Promise<Blob | undefined> {
    const row = this.#rows.get(id);
    if (row?.status !== 'pending') return undefined;
    this.#rows.delete(id);
    return { ...row };
  }

  async listByOwner(ownerId: string, page: { purpose: BlobPurpose | undefined; limit: number; cursor: string | undefined }): Promise<BlobPage> {
    const after = page.cursor === undefined ? undefined : decodeCursorKey(page.cursor, isUuidKey);
    const owned = this.#rows
      .values()
      .filter((blob) => blob.ownerId === ownerId && (page.purpose === undefined || blob.purpose === page.purpose) && (after === undefined || blob.id < after))
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const items = owned.slice(0, page.limit).map((blob) => ({ ...blob }));
    const last = items.at(-1);
    return owned.length > page.limit && last ? { items, nextCursor: encodeCursor([last.id]) } : { items };
  }

  async listPendingCreatedBefore(createdBefore: number, limit: number): Promise<Blob[]> {
    return this.#rows
      .values()
      .filter((blob) => blob.status === 'pending' && blob.createdAt < createdBefore)
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, limit)
      .map((blob) => ({ ...blob }));
  }

  memoryTables(): readonly MemoryTable<unknown>[] {
    return [this.#rows];
  }
}
