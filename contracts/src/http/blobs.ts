import { Type } from 'typebox';
import { BlobContentType, BlobId, BlobPage, BlobPurpose, BlobRecord, SignedUrl } from '../rpc/blob.ts';
import { Cursor, PageLimit } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;
const BlobParams = Type.Object({ id: BlobId }, strict);

/**
 * A rider's own uploads. The bytes never pass through these routes: `POST /v1/blobs` answers with
 * a short-lived signed URL to PUT them to (the object store, or `/blobs/…` on this gateway for the
 * embedded files store), then `POST /v1/blobs/:id/complete` checks them. Someone else's blob is a
 * 404, exactly like an unknown id.
 */
export const blobRoutes = {
  create: defineHttpRoute({
    method: 'POST',
    url: '/v1/blobs',
    summary: 'Start an upload: a pending blob and a signed URL (with the headers to send) to PUT the bytes to',
    tags: ['blobs'],
    access: 'user',
    body: Type.Object({ purpose: BlobPurpose, contentType: BlobContentType, sizeBytes: Type.Integer({ minimum: 1 }) }, strict),
    successStatus: 201,
    response: Type.Object({ blob: BlobRecord, upload: SignedUrl }),
  }),
  complete: defineHttpRoute({
    method: 'POST',
    url: '/v1/blobs/:id/complete',
    summary:
      'Finish an upload: the bytes are checked (type by magic bytes, size, no second format), images are re-encoded ' +
      'without metadata; refused bytes are deleted with the blob (400 BLOB_REJECTED)',
    tags: ['blobs'],
    access: 'user',
    params: BlobParams,
    successStatus: 200,
    response: BlobRecord,
  }),
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/blobs',
    summary: 'My blobs, newest first',
    tags: ['blobs'],
    access: 'user',
    querystring: Type.Object({ purpose: Type.Optional(BlobPurpose), limit: PageLimit, cursor: Type.Optional(Cursor) }, strict),
    successStatus: 200,
    response: BlobPage,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/blobs/:id',
    summary: 'One blob: its owner or an operator',
    tags: ['blobs'],
    access: 'user',
    params: BlobParams,
    successStatus: 200,
    response: BlobRecord,
  }),
  downloadUrl: defineHttpRoute({
    method: 'GET',
    url: '/v1/blobs/:id/url',
    summary: 'A short-lived signed URL to GET an uploaded blob\'s cleaned bytes: its owner or an operator',
    tags: ['blobs'],
    access: 'user',
    params: BlobParams,
    successStatus: 200,
    response: SignedUrl,
  }),
  delete: defineHttpRoute({
    method: 'DELETE',
    url: '/v1/blobs/:id',
    summary: 'Delete a blob and its bytes: its owner or an operator',
    tags: ['blobs'],
    access: 'user',
    params: BlobParams,
    successStatus: 204,
    response: Type.Null(),
  }),
} as const;
