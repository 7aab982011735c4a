import { Type } from 'typebox';
import { BlobContentType, BlobId, BlobPurpose } from '../rpc/blob.ts';
import { UserId } from '../rpc/user.ts';
import { defineEvent } from './envelope.ts';

// Subjects of blob events are the blob id. Pending blobs that never completed publish nothing:
// nobody but their uploader knew of them.

export const BlobUploaded = defineEvent(
  'blob.uploaded',
  1,
  Type.Object({
    blobId: BlobId,
    ownerId: UserId,
    purpose: BlobPurpose,
    contentType: BlobContentType,
    sizeBytes: Type.Integer({ minimum: 1 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  }),
);

export const BlobDeleted = defineEvent(
  'blob.deleted',
  1,
  Type.Object({
    blobId: BlobId,
    ownerId: UserId,
    purpose: BlobPurpose,
    /** `deleted`: its owner or an operator deleted this one; `owner_erased`: every blob of the owner went (DeleteByOwner). */
    reason: Type.Union([Type.Literal('deleted'), Type.Literal('owner_erased')]),
  }),
);

export const blobEvents = [BlobUploaded, BlobDeleted] as const;
