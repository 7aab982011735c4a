import type { BlobPurpose } from '@carshare/contracts';
import { isUuidKey, paginate } from '@carshare/storage';
import type { Kysely, Selectable } from 'kysely';
import type { Blob } from '../domain/blob.ts';
import type { BlobPage, BlobRecordStore } from '../ports.ts';
import type { BlobDatabase } from './blob-database.ts';

function toBlob(row: Selectable<BlobDatabase['blobs']>): Blob {
  return {
    id: row.id,
    ownerId: row.owner_id,
    purpose: row.purpose,
    contentType: row.content_type,
    declaredSizeBytes: row.declared_size_bytes,
    status: row.status,
    ...(row.size_bytes !== null && { sizeBytes: row.size_bytes }),
    ...(row.sha256 !== null && { sha256: row.sha256 }),
    createdAt: new Date(row.created_at).getTime(),
    ...(row.uploaded_at !== null && { uploadedAt: new Date(row.uploaded_at).getTime() }),
  };
}

/** Blob records in the service's own schema. */
export class SqlBlobRecordStore implements BlobRecordStore {
  readonly #db: Kysely<BlobDatabase>;

  /** `db` is the service's database or a transaction on it. */
  constructor(db: Kysely<BlobDatabase>) {
    this.#db = db;
  }

  async insert(blob: Blob): Promise<void> {
    await this.#db
      .insertInto('blobs')
      .values({
        id: blob.id,
        owner_id: blob.ownerId,
        purpose: blob.purpose,
        content_type: blob.contentType,
        declared_size_bytes: blob.declaredSizeBytes,
        status: blob.status,
        size_bytes: blob.sizeBytes ?? null,
        sha256: blob.sha256 ?? null,
        created_at: new Date(blob.createdAt),
        uploaded_at: blob.uploadedAt === undefined ? null : new Date(blob.uploadedAt),
      })
      .execute();
  }

  async find(id: string): Promise<Blob | undefined> {
    const row = await this.#db.selectFrom('blobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toBlob(row);
  }

  async markUploaded(id: string, stored: { sizeBytes: number; sha256: string; uploadedAt: number }): Promise<Blob | undefined> {
    // The WHERE on status decides a race: the second of two completions matches nothing.
    const row = await this.#db
      .updateTable('blobs')
      .set({ status: 'uploaded', size_bytes: stored.sizeBytes, sha256: stored.sha256, uploaded_at: new Date(stored.uploadedAt) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .returningAll()
      .executeTakeFirst();
    return row && toBlob(row);
  }

  async delete(id: string): Promise<Blob | undefined> {
    const row = await this.#db.deleteFrom('blobs').where('id', '=', id).returningAll().executeTakeFirst();
    return row && toBlob(row);
  }

  async deleteIfPending(id: string): Promise<Blob | undefined> {
    const row = await this.#db.deleteFrom('blobs').where('id', '=', id).where('status', '=', 'pending').returningAll().executeTakeFirst();
    return row && toBlob(row);
  }

  async listByOwner(ownerId: string, page: { purpose: BlobPurpose | undefined; limit: number; cursor: string | undefined }): Promise<BlobPage> {
    let query = this.#db.selectFrom('blobs').selectAll().where('owner_id', '=', ownerId);
    if (page.purpose !== undefined) query = query.where('purpose', '=', page.purpose);
    const { items, nextCursor } = await paginate(query, { key: 'id', direction: 'desc', limit: page.limit, cursor: page.cursor, isKey: isUuidKey });
    return { items: items.map(toBlob), ...(nextCursor !== undefined && { nextCursor }) };
  }

  async listPendingCreatedBefore(createdBefore: number, limit: number): Promise<Blob[]> {
    const rows = await this.#db
      .selectFrom('blobs')
      .selectAll()
      .where('status', '=', 'pending')
      .where('created_at', '<', new Date(createdBefore))
      .orderBy('created_at', 'asc')
      .limit(limit)
      .execute();
    return rows.map(toBlob);
  }
}
