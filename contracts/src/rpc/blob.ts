import { Type, type Static, type TSchema } from 'typebox';
import { Cursor, PageLimit, UserId } from './user.ts';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { defineRpcService } from './define-rpc-service.ts';

const strict = { additionalProperties: false } as const;

function orNull<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** What a blob is for: it decides the size limit and who else may need it (profile, review). */
export const BlobPurpose = Type.Union([
  Type.Literal('licence_front'),
  Type.Literal('licence_back'),
  Type.Literal('selfie'),
  Type.Literal('avatar'),
  Type.Literal('damage_photo'),
]);
export type BlobPurpose = Static<typeof BlobPurpose>;

/** The only types accepted; the bytes are checked against it by their magic numbers. */
export const BlobContentType = Type.Union([
  Type.Literal('image/jpeg'),
  Type.Literal('image/png'),
  Type.Literal('image/webp'),
  Type.Literal('application/pdf'),
]);
export type BlobContentType = Static<typeof BlobContentType>;

/** `pending`: a record and an upload URL, no checked bytes yet. `uploaded`: checked, cleaned, hashed. */
export const BlobStatus = Type.Union([Type.Literal('pending'), Type.Literal('uploaded')]);

export const BlobId = Type.String({ format: 'uuid' });

/** Largest object any purpose accepts (10 MiB); each purpose may accept less. */
export const maxBlobBytes = 10 * 1024 * 1024;

export const BlobRecord = Type.Object({
  id: BlobId,
  ownerId: UserId,
  purpose: BlobPurpose,
  contentType: BlobContentType,
  /** What the uploader announced at CreateUpload. */
  declaredSizeBytes: Type.Integer({ minimum: 1 }),
  status: BlobStatus,
  /** Size of the stored bytes (after metadata was stripped): null while pending. */
  sizeBytes: orNull(Type.Integer({ minimum: 1 })),
  /** Hex SHA-256 of the stored bytes: null while pending. */
  sha256: orNull(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  createdAt: Type.String({ format: 'date-time' }),
  uploadedAt: orNull(Type.String({ format: 'date-time' })),
});
export type BlobRecord = Static<typeof BlobRecord>;

export const BlobPage = Type.Object({ items: Type.Array(BlobRecord), nextCursor: orNull(Type.String()) });

/** A short-lived URL: the browser (or a service) sends exactly these headers with it. */
export const SignedUrl = Type.Object({
  url: Type.String({ minLength: 1 }),
  method: Type.Union([Type.Literal('PUT'), Type.Literal('GET')]),
  headers: Type.Record(Type.String(), Type.String()),
  expiresAt: Type.String({ format: 'date-time' }),
});

const BlobRef = Type.Object({ blobId: BlobId }, strict);

/** The three parts of a files-store signed URL, as the gateway received them. */
const SignedObjectRef = {
  key: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_./-]+$' }),
  expires: Type.String({ minLength: 1, maxLength: 20 }),
  signature: Type.String({ minLength: 1, maxLength: 200 }),
};

/**
 * The blob service's RPC contract. Access: the owner or an operator; anyone else gets
 * BLOB_NOT_FOUND (never PERMISSION_DENIED), so blob ids cannot be probed. A call that carries no
 * end user is a listed service acting for itself (ADR 0012), e.g. profile's OCR worker reading a
 * licence photo: it may act for any owner. The gateway calls without an end user only the two
 * signed-object methods, whose signature is the authority.
 */
export const blobRpc = defineRpcService('blob', {
  CreateUpload: {
    summary:
      'A pending blob and a short-lived signed URL to PUT its bytes to; then CompleteUpload. The owner is the caller; ' +
      'an operator or a service may name another owner',
    input: Type.Object(
      {
        ownerId: Type.Optional(UserId),
        purpose: BlobPurpose,
        contentType: BlobContentType,
        sizeBytes: Type.Integer({ minimum: 1 }),
      },
      strict,
    ),
    output: Type.Object({ blob: BlobRecord, upload: SignedUrl }),
    idempotent: false,
    errors: ['OWNER_NOT_FOUND', 'OWNER_REQUIRED', 'BLOB_TOO_LARGE', 'BLOB_TYPE_NOT_ALLOWED'],
    callers: ['gateway', 'profile'],
  },
  CompleteUpload: {
    summary:
      'Check the uploaded bytes (magic bytes, size), strip image metadata, hash and mark uploaded; bytes that fail the ' +
      'check are deleted with their record (BLOB_REJECTED). Completing an uploaded blob again returns it',
    input: BlobRef,
    output: BlobRecord,
    idempotent: true,
    errors: ['BLOB_NOT_FOUND', 'BLOB_NOT_UPLOADED', 'BLOB_REJECTED', 'BLOB_TOO_LARGE'],
    callers: ['gateway', 'profile'],
  },
  Get: {
    summary: 'One blob\'s record: its owner or an operator',
    input: BlobRef,
    output: BlobRecord,
    idempotent: true,
    errors: ['BLOB_NOT_FOUND'],
    callers: ['gateway', 'profile'],
  },
  GetDownloadUrl: {
    summary: 'A short-lived signed URL to GET an uploaded blob\'s (cleaned) bytes: its owner or an operator',
    input: BlobRef,
    output: SignedUrl,
    idempotent: true,
    errors: ['BLOB_NOT_FOUND', 'BLOB_NOT_UPLOADED'],
    callers: ['gateway', 'profile'],
  },
  ReadContent: {
    summary:
      'An uploaded blob\'s (cleaned) bytes in base64, for services (OCR) that would rather not fetch a URL; at most ' +
      '10 MiB of bytes, ~13.4 MiB of JSON',
    input: BlobRef,
    output: Type.Object({ blob: BlobRecord, contentBase64: Type.String() }),
    idempotent: true,
    errors: ['BLOB_NOT_FOUND', 'BLOB_NOT_UPLOADED'],
    callers: ['profile'],
  },
  ListByOwner: {
    summary: 'An owner\'s blobs, newest first: riders list their own (ownerId omitted or theirs), operators anyone\'s',
    input: Type.Object(
      {
        ownerId: Type.Optional(UserId),
        purpose: Type.Optional(BlobPurpose),
        limit: PageLimit,
        cursor: Type.Optional(Cursor),
      },
      strict,
    ),
    output: BlobPage,
    idempotent: true,
    errors: ['OWNER_NOT_FOUND', 'OWNER_REQUIRED', 'INVALID_CURSOR'],
    callers: ['gateway', 'profile'],
  },
  Delete: {
    summary: 'Delete a blob\'s record and its bytes in the object store: its owner or an operator',
    input: BlobRef,
    output: Type.Object({ blobId: BlobId }),
    idempotent: true,
    errors: ['BLOB_NOT_FOUND'],
    callers: ['gateway', 'profile'],
  },
  DeleteByOwner: {
    summary: 'Delete every blob of an owner, records and bytes (profile or account erasure): the owner, an operator or a service',
    input: Type.Object({ ownerId: UserId }, strict),
    output: Type.Object({ deletedCount: Type.Integer({ minimum: 0 }) }),
    idempotent: true,
    errors: ['OWNER_NOT_FOUND'],
    callers: ['gateway', 'profile'],
  },
  PutSignedObject: {
    summary:
      'The files store\'s upload: the gateway passes on a PUT to a signed URL (the signature is the authority, no ' +
      'token needed); 403 when the signature is wrong or expired',
    input: Type.Object(
      {
        ...SignedObjectRef,
        contentType: Type.String({ minLength: 1, maxLength: 200 }),
        contentBase64: Type.String({ maxLength: Math.ceil(maxBlobBytes / 3) * 4 }),
      },
      strict,
    ),
    output: Type.Object({ sizeBytes: Type.Integer({ minimum: 0 }) }),
    idempotent: true,
    errors: ['SIGNATURE_INVALID', 'URL_EXPIRED', 'BLOB_TOO_LARGE', 'FILES_STORE_ONLY'],
    callers: ['gateway'],
  },
  GetSignedObject: {
    summary: 'The files store\'s download: the gateway passes on a GET of a signed URL; 403 when the signature is wrong or expired',
    input: Type.Object(SignedObjectRef, strict),
    output: Type.Object({ contentType: Type.String(), contentBase64: Type.String() }),
    idempotent: true,
    errors: ['SIGNATURE_INVALID', 'URL_EXPIRED', 'OBJECT_NOT_FOUND', 'FILES_STORE_ONLY'],
    callers: ['gateway'],
  },
  ...deadLetterRpcMethods,
});
