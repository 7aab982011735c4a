import type { blobRpc, deadLetterRpcMethods } from '@carshare/contracts';
import type { RpcHandlers } from '@carshare/platform';
import type { Blob } from '../domain/blob.ts';
import type { BlobService } from '../blob-service.ts';
import type { SignedRequest } from '../ports.ts';

function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

export function toWireBlob(blob: Blob) {
  return {
    id: blob.id,
    ownerId: blob.ownerId,
    purpose: blob.purpose,
    contentType: blob.contentType,
    declaredSizeBytes: blob.declaredSizeBytes,
    status: blob.status,
    sizeBytes: blob.sizeBytes ?? null,
    sha256: blob.sha256 ?? null,
    createdAt: new Date(blob.createdAt).toISOString(),
    uploadedAt: isoOrNull(blob.uploadedAt),
  };
}

function toWireSignedUrl(request: SignedRequest) {
  return { url: request.url, method: request.method, headers: request.headers, expiresAt: new Date(request.expiresAt).toISOString() };
}

const base64Of = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The blob methods of the contract; the dead-letter ones come from @carshare/messaging. */
type BlobMethods = Omit<typeof blobRpc.methods, keyof typeof deadLetterRpcMethods>;

/** Parse → one use case → map; validation and errors are the RPC server's. */
export function blobRpcHandlers(service: BlobService): RpcHandlers<BlobMethods> {
  return {
    CreateUpload: async (input, ctx) => {
      const { blob, upload } = await service.createUpload(input, ctx.caller);
      return { blob: toWireBlob(blob), upload: toWireSignedUrl(upload) };
    },
    CompleteUpload: async (input, ctx) => toWireBlob(await service.completeUpload(input, ctx.caller)),
    Get: async (input, ctx) => toWireBlob(await service.get(input, ctx.caller)),
    GetDownloadUrl: async (input, ctx) => toWireSignedUrl(await service.getDownloadUrl(input, ctx.caller)),
    ReadContent: async (input, ctx) => {
      const { blob, bytes } = await service.readContent(input, ctx.caller);
      return { blob: toWireBlob(blob), contentBase64: base64Of(bytes) };
    },
    ListByOwner: async (input, ctx) => {
      const page = await service.listByOwner(input, ctx.caller);
      return { items: page.items.map(toWireBlob), nextCursor: page.nextCursor ?? null };
    },
    Delete: async (input, ctx) => service.delete(input, ctx.caller),
    DeleteByOwner: async (input, ctx) => service.deleteByOwner(input, ctx.caller),
    PutSignedObject: async ({ contentBase64, ...ref }) => service.putSignedObject({ ...ref, bytes: Buffer.from(contentBase64, 'base64') }),
    GetSignedObject: async (input) => {
      const { contentType, bytes } = await service.getSignedObject(input);
      return { contentType, contentBase64: base64Of(bytes) };
    },
  };
}
