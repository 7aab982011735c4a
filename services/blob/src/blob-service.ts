import { createHash } from 'node:crypto';
import { BlobDeleted, BlobUploaded, isStaff, type BlobContentType, type BlobPurpose } from '@carshare/contracts';
import { Conflict, InvalidArgument, NotFound, PermissionDenied, type Caller } from '@carshare/platform';
import {
  checkUploadRequest,
  mayAccess,
  newPendingBlob,
  objectKeyOf,
  parseStoreKey,
  purposeRules,
  uploadKeyOf,
  type Blob,
  type BlobActor,
} from './domain/blob.ts';
import { inspectContent } from './domain/content-inspection.ts';
import { UnreadableImage, type BlobPage, type BlobServicePorts, type SignedObjectRef, type SignedRequest } from './ports.ts';

/** No end-user token: another service of the platform (see BlobActor). */
export function actorOf(caller: Caller | undefined): BlobActor {
  return caller ? { kind: 'user', userId: caller.userId, staff: isStaff(caller.role) } : { kind: 'service' };
}

function blobNotFound(blobId: string): Error {
  return NotFound('BLOB_NOT_FOUND', `no blob ${blobId}`, { blobId });
}

/** Someone else's owner id is unknown to a rider, exactly as an owner without blobs would be. */
function ownerFor(requested: string | undefined, actor: BlobActor): string {
  if (actor.kind === 'service') {
    if (requested === undefined) throw InvalidArgument('OWNER_REQUIRED', 'a call without an end-user token names the owner (ownerId)');
    return requested;
  }
  if (requested === undefined || requested === actor.userId || actor.staff) return requested ?? actor.userId;
  throw NotFound('OWNER_NOT_FOUND', `no owner ${requested}`, { ownerId: requested });
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface BlobContent {
  blob: Blob;
  bytes: Uint8Array;
}

/** The blob service's use cases: each takes what the caller sent and who the caller is. */
export function createBlobService(ports: BlobServicePorts) {
  const { blobs, unitOfWork, store, images, events, clock, ids } = ports;

  async function accessible(blobId: string, actor: BlobActor): Promise<Blob> {
    const blob = await blobs.find(blobId);
    // Someone else's blob is "not found", not "forbidden": its existence is not theirs to learn.
    if (!blob || !mayAccess(blob.ownerId, actor)) throw blobNotFound(blobId);
    return blob;
  }

  function requireUploaded(blob: Blob): Blob {
    if (blob.status !== 'uploaded') throw Conflict('BLOB_NOT_UPLOADED', 'the blob has not been uploaded and completed yet', { blobId: blob.id, status: blob.status });
    return blob;
  }

  /** Bytes and record go; bytes first, so a record never outlives its bytes unnoticed (a retry deletes again). */
  async function erase(blob: Blob, reason: 'deleted' | 'owner_erased'): Promise<void> {
    await store.delete(uploadKeyOf(blob.id));
    await store.delete(objectKeyOf(blob.id));
    await unitOfWork.run(async (tx) => {
      const removed = await tx.blobs.delete(blob.id);
      if (removed?.status === 'uploaded') {
        await tx.events.add(events.create(BlobDeleted, blob.id, { blobId: blob.id, ownerId: blob.ownerId, purpose: blob.purpose, reason }));
      }
    });
  }

  /** A refused upload leaves nothing behind: neither its bytes nor its record. */
  async function reject(blob: Blob, reason: string, problem: string, message: string): Promise<never> {
    await store.delete(uploadKeyOf(blob.id));
    await store.delete(objectKeyOf(blob.id));
    await blobs.deleteIfPending(blob.id);
    throw InvalidArgument(reason, `upload refused: ${message}`, { blobId: blob.id, problem });
  }

  /**
   * No bytes under the upload key: nothing was PUT yet, or a completion running beside this one
   * has just finished and removed them; then its answer is this one too.
   */
  async function notUploaded(blob: Blob, caller: Caller | undefined): Promise<Blob> {
    const current = await accessible(blob.id, actorOf(caller));
    if (current.status === 'uploaded') return current;
    throw Conflict('BLOB_NOT_UPLOADED', 'nothing was uploaded for this blob yet', { blobId: blob.id });
  }

  async function cleaned(blob: Blob, bytes: Uint8Array): Promise<Uint8Array> {
    if (blob.contentType === 'application/pdf') return bytes;
    try {
      return await images.clean(bytes, blob.contentType);
    } catch (error) {
      if (error instanceof UnreadableImage) return reject(blob, 'BLOB_REJECTED', 'MALFORMED', `the image cannot be decoded (${error.message})`);
      throw error;
    }
  }

  return {
    async createUpload(
      input: { ownerId?: string | undefined; purpose: BlobPurpose; contentType: BlobContentType; sizeBytes: number },
      caller: Caller | undefined,
    ): Promise<{ blob: Blob; upload: SignedRequest }> {
      const ownerId = ownerFor(input.ownerId, actorOf(caller));
      const problem = checkUploadRequest(input.purpose, input.contentType, input.sizeBytes);
      if (problem === 'TOO_LARGE') {
        throw InvalidArgument('BLOB_TOO_LARGE', `a ${input.purpose} is at most ${purposeRules[input.purpose].maxBytes} bytes`, {
          maxBytes: purposeRules[input.purpose].maxBytes,
        });
      }
      if (problem === 'TYPE_NOT_ALLOWED') {
        throw InvalidArgument('BLOB_TYPE_NOT_ALLOWED', `a ${input.purpose} is one of ${purposeRules[input.purpose].contentTypes.join(', ')}`, {
          allowed: purposeRules[input.purpose].contentTypes,
        });
      }
      const now = clock.now();
      const blob = newPendingBlob({ id: ids.next(), ownerId, purpose: input.purpose, contentType: input.contentType, declaredSizeBytes: input.sizeBytes, now });
      await blobs.insert(blob);
      const upload = await store.signUpload(uploadKeyOf(blob.id), {
        contentType: blob.contentType,
        sizeBytes: blob.declaredSizeBytes,
        expiresAt: now + ports.uploadUrlTtlMs,
      });
      return { blob, upload };
    },

    /**
     * Checks what was PUT (size, magic bytes, structure, no second format), re-encodes images
     * without their metadata, stores the result under the object key and marks the blob
     * uploaded. Anything refused is deleted with its record: nothing of it stays.
     */
    async completeUpload(input: { blobId: string }, caller: Caller | undefined): Promise<Blob> {
      const blob = await accessible(input.blobId, actorOf(caller));
      if (blob.status === 'uploaded') return blob;
      const uploadKey = uploadKeyOf(blob.id);
      const maxBytes = Math.min(purposeRules[blob.purpose].maxBytes, blob.declaredSizeBytes);
      // The size first, from the store's metadata: a 20 MB upload is refused without reading it.
      const size = await store.sizeOf(uploadKey);
      if (size === undefined) return notUploaded(blob, caller);
      if (size > maxBytes) return reject(blob, 'BLOB_TOO_LARGE', 'TOO_LARGE', `${size} bytes is above the limit of ${maxBytes}`);
      const bytes = await store.get(uploadKey);
      if (bytes === undefined) return notUploaded(blob, caller);
      const verdict = inspectContent(bytes, blob.contentType, maxBytes);
      if (!verdict.ok) return reject(blob, verdict.problem === 'TOO_LARGE' ? 'BLOB_TOO_LARGE' : 'BLOB_REJECTED', verdict.problem, verdict.message);

      const clean = await cleaned(blob, bytes);
      const sha256 = sha256Hex(clean);
      // Stored before the record says so: an uploaded record always has its bytes. A crash in
      // between leaves a pending record, which the sweeper removes with both keys.
      await store.put(objectKeyOf(blob.id), clean, blob.contentType);
      const uploaded = await unitOfWork.run(async (tx) => {
        const marked = await tx.blobs.markUploaded(blob.id, { sizeBytes: clean.length, sha256, uploadedAt: clock.now() });
        if (marked) {
          await tx.events.add(
            events.create(BlobUploaded, blob.id, { blobId: blob.id, ownerId: blob.ownerId, purpose: blob.purpose, contentType: blob.contentType, sizeBytes: clean.length, sha256 }),
          );
        }
        return marked;
      });
      await store.delete(uploadKey);
      // Another completion won the race: its answer is this one too.
      return uploaded ?? accessible(blob.id, actorOf(caller));
    },

    async get(input: { blobId: string }, caller: Caller | undefined): Promise<Blob> {
      return accessible(input.blobId, actorOf(caller));
    },

    async getDownloadUrl(input: { blobId: string }, caller: Caller | undefined): Promise<SignedRequest> {
      const blob = requireUploaded(await accessible(input.blobId, actorOf(caller)));
      return store.signDownload(objectKeyOf(blob.id), { contentType: blob.contentType, expiresAt: clock.now() + ports.downloadUrlTtlMs });
    },

    async readContent(input: { blobId: string }, caller: Caller | undefined): Promise<BlobContent> {
      const blob = requireUploaded(await accessible(input.blobId, actorOf(caller)));
      const bytes = await store.get(objectKeyOf(blob.id));
      if (bytes === undefined) throw blobNotFound(blob.id);
      return { blob, bytes };
    },

    async listByOwner(
      input: { ownerId?: string | undefined; purpose?: BlobPurpose | undefined; limit: number; cursor?: string | undefined },
      caller: Caller | undefined,
    ): Promise<BlobPage> {
      const ownerId = ownerFor(input.ownerId, actorOf(caller));
      return blobs.listByOwner(ownerId, { purpose: input.purpose, limit: input.limit, cursor: input.cursor });
    },

    async delete(input: { blobId: string }, caller: Caller | undefined): Promise<{ blobId: string }> {
      await erase(await accessible(input.blobId, actorOf(caller)), 'deleted');
      return { blobId: input.blobId };
    },

    /** Every blob of an owner, page by page (a profile or account erased), bytes included. */
    async deleteByOwner(input: { ownerId: string }, caller: Caller | undefined): Promise<{ deletedCount: number }> {
      const ownerId = ownerFor(input.ownerId, actorOf(caller));
      let deletedCount = 0;
      for (;;) {
        // Always the first page: what was deleted is gone from it.
        const page = await blobs.listByOwner(ownerId, { purpose: undefined, limit: 100, cursor: undefined });
        for (const blob of page.items) await erase(blob, 'owner_erased');
        deletedCount += page.items.length;
        if (page.nextCursor === undefined) return { deletedCount };
      }
    },

    /** Removes pending blobs older than the TTL with whatever was uploaded for them; how many went. */
    async sweepPending(batchSize = 100): Promise<number> {
      const stale = await blobs.listPendingCreatedBefore(clock.now() - ports.pendingTtlMs, batchSize);
      let swept = 0;
      for (const blob of stale) {
        await store.delete(uploadKeyOf(blob.id));
        await store.delete(objectKeyOf(blob.id));
        // A completion that won meanwhile keeps its blob (and re-wrote the object key first).
        if (await blobs.deleteIfPending(blob.id)) swept += 1;
      }
      return swept;
    },

    /** The files store's upload URL, passed on by the gateway: the signature is the authority. */
    async putSignedObject(input: SignedObjectRef & { contentType: string; bytes: Uint8Array }): Promise<{ sizeBytes: number }> {
      const blob = await signedTarget('PUT', input, input.contentType, 'upload');
      if (blob === undefined || blob.status !== 'pending') throw PermissionDenied('URL_EXPIRED', 'this upload URL is no longer valid');
      if (input.bytes.length > blob.declaredSizeBytes) {
        throw InvalidArgument('BLOB_TOO_LARGE', `${input.bytes.length} bytes is more than the ${blob.declaredSizeBytes} declared`, {
          maxBytes: blob.declaredSizeBytes,
        });
      }
      await store.put(input.key, input.bytes, input.contentType);
      return { sizeBytes: input.bytes.length };
    },

    /** The files store's download URL, passed on by the gateway. */
    async getSignedObject(input: SignedObjectRef): Promise<{ contentType: string; bytes: Uint8Array }> {
      const blob = await signedTarget('GET', input, undefined, 'object');
      const bytes = blob && (await store.get(input.key));
      if (!blob || bytes === undefined) throw NotFound('OBJECT_NOT_FOUND', 'nothing is stored under this URL');
      return { contentType: blob.contentType, bytes };
    },
  };

  async function signedTarget(method: 'PUT' | 'GET', ref: SignedObjectRef, contentType: string | undefined, kind: 'upload' | 'object'): Promise<Blob | undefined> {
    if (!ports.signedUrls) throw Conflict('FILES_STORE_ONLY', 'this blob service keeps its bytes in S3, which serves its own URLs');
    ports.signedUrls.verify(method, ref, contentType);
    const target = parseStoreKey(ref.key);
    // A valid signature over a key of the other kind was never given out for this method.
    if (target?.kind !== kind) throw PermissionDenied('SIGNATURE_INVALID', 'this URL was not signed for this request');
    return blobs.find(target.blobId);
  }
}

export type BlobService = ReturnType<typeof createBlobService>;
