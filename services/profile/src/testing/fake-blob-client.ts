import { createHash } from 'node:crypto';
import { isStaff, type BlobContentType, type BlobPurpose, type BlobRecord } from '@carshare/contracts';
import { Conflict, NotFound, type CallContext } from '@carshare/platform';
import type { BlobClient } from '../ports.ts';

interface StoredBlob {
  record: BlobRecord;
  bytes: Buffer | undefined;
}

/**
 * The blob service as the profile service sees it, in memory, with its access rule: the owner or
 * an operator, a token-less platform call for anyone; everyone else gets BLOB_NOT_FOUND.
 */
export class FakeBlobClient implements BlobClient {
  readonly blobs = new Map<string, StoredBlob>();
  readonly deleted: string[] = [];
  #next = 0;

  /** What the rider's browser does with the signed URL. */
  upload(blobId: string, bytes: Uint8Array): void {
    const stored = this.blobs.get(blobId);
    if (!stored) throw new Error(`no blob ${blobId}`);
    stored.bytes = Buffer.from(bytes);
  }

  #visible(blobId: string, ctx: CallContext): StoredBlob {
    const stored = this.blobs.get(blobId);
    const caller = ctx.caller;
    if (!stored || (caller && caller.userId !== stored.record.ownerId && !isStaff(caller.role))) throw NotFound('BLOB_NOT_FOUND', `no blob ${blobId}`);
    return stored;
  }

  async CreateUpload(input: { ownerId?: string; purpose: BlobPurpose; contentType: BlobContentType; sizeBytes: number }, ctx: CallContext) {
    const ownerId = input.ownerId ?? ctx.caller?.userId ?? '';
    const id = `00000000-0000-7000-8000-${String(++this.#next).padStart(12, '0')}`;
    const record: BlobRecord = {
      id,
      ownerId,
      purpose: input.purpose,
      contentType: input.contentType,
      declaredSizeBytes: input.sizeBytes,
      status: 'pending',
      sizeBytes: null,
      sha256: null,
      createdAt: new Date(0).toISOString(),
      uploadedAt: null,
    };
    this.blobs.set(id, { record, bytes: undefined });
    const upload = { url: `http://blobs.test/${id}`, method: 'PUT' as const, headers: { 'content-type': input.contentType }, expiresAt: new Date(0).toISOString() };
    return { blob: record, upload };
  }

  async CompleteUpload(input: { blobId: string }, ctx: CallContext) {
    const stored = this.#visible(input.blobId, ctx);
    if (!stored.bytes) throw Conflict('BLOB_NOT_UPLOADED', 'nothing was uploaded');
    stored.record = { ...stored.record, status: 'uploaded', sizeBytes: stored.bytes.length, sha256: createHash('sha256').update(stored.bytes).digest('hex') };
    return stored.record;
  }

  async GetDownloadUrl(input: { blobId: string }, ctx: CallContext) {
    const stored = this.#visible(input.blobId, ctx);
    if (stored.record.status !== 'uploaded') throw Conflict('BLOB_NOT_UPLOADED', 'not uploaded');
    return { url: `http://blobs.test/${input.blobId}?signature=x`, method: 'GET' as const, headers: {}, expiresAt: new Date(0).toISOString() };
  }

  async ReadContent(input: { blobId: string }, ctx: CallContext) {
    const stored = this.#visible(input.blobId, ctx);
    if (stored.record.status !== 'uploaded' || !stored.bytes) throw Conflict('BLOB_NOT_UPLOADED', 'not uploaded');
    return { blob: stored.record, contentBase64: stored.bytes.toString('base64') };
  }

  async Delete(input: { blobId: string }, ctx: CallContext) {
    this.#visible(input.blobId, ctx);
    this.blobs.delete(input.blobId);
    this.deleted.push(input.blobId);
    return { blobId: input.blobId };
  }

  async DeleteByOwner(input: { ownerId: string }, _ctx: CallContext) {
    let deletedCount = 0;
    for (const [id, stored] of this.blobs) {
      if (stored.record.ownerId !== input.ownerId) continue;
      this.blobs.delete(id);
      this.deleted.push(id);
      deletedCount++;
    }
    return { deletedCount };
  }
}
