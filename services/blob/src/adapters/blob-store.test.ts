import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError, uuidV7Ids } from '@carshare/platform';
import { FakeClock } from '@carshare/testing';
import { startS3rver } from '../testing/start-s3rver.ts';
import { blobStoreContract, type BlobStoreUnderTest, type SignedResponse } from './blob-store.contract.ts';
import { FilesBlobStore } from './files-blob-store.ts';
import { S3BlobStore } from './s3-blob-store.ts';

/**
 * A browser's request on a files-store URL as the gateway and the blob service handle it: the
 * signature is verified, then the key is written or read. 403 for a refused signature.
 */
async function sendToFilesStore(store: FilesBlobStore, request: Parameters<BlobStoreUnderTest['send']>[0]): Promise<SignedResponse> {
  const url = new URL(request.url, 'http://gateway.invalid');
  const ref = { key: url.pathname.replace(/^\/blobs\//, ''), expires: url.searchParams.get('expires') ?? '', signature: url.searchParams.get('signature') ?? '' };
  try {
    store.verify(request.method, ref, request.method === 'PUT' ? request.headers['content-type'] : undefined);
    if (request.method === 'PUT') {
      await store.put(ref.key, request.body ?? new Uint8Array());
      return { status: 200, body: new Uint8Array() };
    }
    const bytes = await store.get(ref.key);
    return bytes ? { status: 200, body: bytes } : { status: 404, body: new Uint8Array() };
  } catch (error) {
    if (isAppError(error) && error.code === 'PERMISSION_DENIED') return { status: 403, body: new Uint8Array() };
    throw error;
  }
}

async function sendOverHttp(request: Parameters<BlobStoreUnderTest['send']>[0]): Promise<SignedResponse> {
  const response = await fetch(request.url, { method: request.method, headers: request.headers, ...(request.body && { body: request.body }) });
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
}

blobStoreContract(
  'files',
  async (clock) => {
    const directory = await mkdtemp(join(tmpdir(), 'carshare-blob-files-'));
    const store = new FilesBlobStore({ directory, signingKey: new Uint8Array(32).fill(7), publicBaseUrl: '', clock, ids: uuidV7Ids });
    return {
      store,
      send: (request) => sendToFilesStore(store, request),
      checksSignatures: true,
      close: () => rm(directory, { recursive: true, force: true }),
    };
  },
  new FakeClock(),
);

function s3Store(endpoint: string, bucket: string, clock: FakeClock, credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }): S3BlobStore {
  return new S3BlobStore({ endpoint, bucket, region: process.env['S3_REGION'] ?? 'us-east-1', ...credentials, forcePathStyle: true, clock });
}

blobStoreContract(
  's3rver',
  async (clock) => {
    const bucket = 'carshare-blobs';
    const server = await startS3rver(bucket);
    const store = s3Store(server.endpoint, bucket, clock);
    return {
      store,
      send: sendOverHttp,
      // s3rver accepts tampered and expired signatures: they are held on the files store and MinIO.
      checksSignatures: false,
      async close() {
        store.close();
        await server.close();
      },
    };
  },
  new FakeClock(),
);

/** Empties and removes a test's own bucket. */
async function deleteBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint,
    region: process.env['S3_REGION'] ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env['S3_ACCESS_KEY_ID'] ?? 'minioadmin', secretAccessKey: process.env['S3_SECRET_ACCESS_KEY'] ?? 'minioadmin' },
  });
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const object of listed.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}

const s3Endpoint = process.env['S3_ENDPOINT'];
if (s3Endpoint) {
  blobStoreContract(
    `S3 at ${s3Endpoint}`,
    async (clock) => {
      // A bucket of its own per run: other runs may share this server.
      const bucket = `carshare-test-${process.pid}-${uuidV7Ids.next().slice(-8)}`;
      const store = s3Store(s3Endpoint, bucket, clock, {
        accessKeyId: process.env['S3_ACCESS_KEY_ID'] ?? 'minioadmin',
        secretAccessKey: process.env['S3_SECRET_ACCESS_KEY'] ?? 'minioadmin',
      });
      await store.ensureBucket();
      return {
        store,
        send: sendOverHttp,
        checksSignatures: true,
        close: async () => {
          store.close();
          await deleteBucket(s3Endpoint, bucket);
        },
      };
    },
    new FakeClock(),
  );
}
