import { maxBlobBytes, type BlobContentType, type BlobPurpose } from '@carshare/contracts';

export type BlobStatus = 'pending' | 'uploaded';

/** A blob's record; its bytes live in the object store under `uploadKeyOf` / `objectKeyOf`. */
export interface Blob {
  id: string;
  ownerId: string;
  purpose: BlobPurpose;
  contentType: BlobContentType;
  declaredSizeBytes: number;
  status: BlobStatus;
  /** Size and hex SHA-256 of the stored (cleaned) bytes; set when uploaded. */
  sizeBytes?: number;
  sha256?: string;
  createdAt: number;
  uploadedAt?: number;
}

const images: readonly BlobContentType[] = ['image/jpeg', 'image/png', 'image/webp'];
const mebibyte = 1024 * 1024;

/**
 * What each purpose accepts. A licence may be a scanned PDF; a face or a car is a photo. An avatar
 * is shown small everywhere, so 2 MiB is plenty; nothing is above `maxBlobBytes` (the gateway's
 * body limit on the upload route follows it).
 */
export const purposeRules: Readonly<Record<BlobPurpose, { maxBytes: number; contentTypes: readonly BlobContentType[] }>> = {
  licence_front: { maxBytes: maxBlobBytes, contentTypes: [...images, 'application/pdf'] },
  licence_back: { maxBytes: maxBlobBytes, contentTypes: [...images, 'application/pdf'] },
  selfie: { maxBytes: maxBlobBytes, contentTypes: images },
  avatar: { maxBytes: 2 * mebibyte, contentTypes: images },
  damage_photo: { maxBytes: maxBlobBytes, contentTypes: images },
};

/**
 * The status machine as data. A blob is never un-uploaded: a change of photo is a new blob.
 * Deletion is not a status: the record and its bytes go.
 */
export const blobTransitions: Readonly<Record<BlobStatus, readonly BlobStatus[]>> = {
  pending: ['uploaded'],
  uploaded: [],
};

export function mayTransition(from: BlobStatus, to: BlobStatus): boolean {
  return blobTransitions[from].includes(to);
}

/**
 * Who acts on a blob. A call without an end-user token comes from another service of the
 * platform (the gateway never passes one on without a token): it may act for any owner.
 */
export type BlobActor = { kind: 'service' } | { kind: 'user'; userId: string; staff: boolean };

/** The owner, staff and platform services may see and delete a blob; nobody else may learn it exists. */
export function mayAccess(ownerId: string, actor: BlobActor): boolean {
  return actor.kind === 'service' || actor.staff || actor.userId === ownerId;
}

/**
 * Where the uploader's unchecked bytes land. Kept apart from the checked object, so a second PUT
 * on a still-valid upload URL can never replace what was checked and cleaned.
 */
export function uploadKeyOf(blobId: string): string {
  return `upload/${blobId}`;
}

/** Where the checked, cleaned bytes live: the only key anyone downloads from. */
export function objectKeyOf(blobId: string): string {
  return `object/${blobId}`;
}

const keyPattern = /^(upload|object)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The blob a store key belongs to and which of its two keys it is; undefined for any other text. */
export function parseStoreKey(key: string): { kind: 'upload' | 'object'; blobId: string } | undefined {
  const match = keyPattern.exec(key);
  return match ? { kind: match[1] as 'upload' | 'object', blobId: match[2] as string } : undefined;
}

export type UploadRequestProblem = 'TYPE_NOT_ALLOWED' | 'TOO_LARGE';

/** Whether a purpose takes this type and declared size; undefined when it does. */
export function checkUploadRequest(purpose: BlobPurpose, contentType: BlobContentType, sizeBytes: number): UploadRequestProblem | undefined {
  const rules = purposeRules[purpose];
  if (!rules.contentTypes.includes(contentType)) return 'TYPE_NOT_ALLOWED';
  if (sizeBytes > rules.maxBytes) return 'TOO_LARGE';
  return undefined;
}

export function newPendingBlob(fields: {
  id: string;
  ownerId: string;
  purpose: BlobPurpose;
  contentType: BlobContentType;
  declaredSizeBytes: number;
  now: number;
}): Blob {
  return {
    id: fields.id,
    ownerId: fields.ownerId,
    purpose: fields.purpose,
    contentType: fields.contentType,
    declaredSizeBytes: fields.declaredSizeBytes,
    status: 'pending',
    createdAt: fields.now,
  };
}
