import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobRpc, type EventEnvelope } from '@carshare/contracts';
import { InProcessEventBus, MemoryDeadLetterStore } from '@carshare/messaging';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery, createBackgroundContext, createRpcClient, systemClock, uuidV7Ids, type Caller, type RpcClient } from '@carshare/platform';
import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import sharp from 'sharp';
import { loadBlobConfig } from './config.ts';
import { createBlobModule, type BlobModule } from './module.ts';
import { hasGpsExif, jpegWithGpsSample } from './testing/image-samples.ts';
import { signedRefOf } from './testing/new-blob-test-service.ts';
import { startS3rver } from './testing/start-s3rver.ts';

const riderA: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };
const riderB: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };

function observabilityOf(service: string) {
  return createObservability({ service, logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
}

/**
 * The blob module on PGlite and the files store, called over real HTTP by clients that sign as
 * the gateway, profile or car (ADR 0012): the wire's schema checks and access rules.
 */
describe('blob module over the wire', () => {
  let engine: SqlEngine;
  let bus: InProcessEventBus;
  let module: BlobModule;
  let directory: string;
  const clients: Record<'gateway' | 'profile' | 'car', RpcClient<typeof blobRpc.methods>> = {} as never;
  const published: EventEnvelope[] = [];

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'carshare-blob-module-'));
    engine = await openSqlEngine({ dataDir: 'memory://' });
    bus = new InProcessEventBus();
    await bus.subscribe('test.blob-events', ['blob.*'], async (event) => {
      published.push(event);
    }, { deadLetters: new MemoryDeadLetterStore() });
    module = createBlobModule({
      config: loadBlobConfig({ 'log.level': 'silent', 'store.filesDirectory': directory }),
      observability: observabilityOf('blob'),
      database: engine.forService('blob'),
      bus,
      concurrentRelays: false,
      discovery: new StaticDiscovery({}),
      clock: systemClock,
      ids: uuidV7Ids,
    });
    await module.start();
    await module.server.listen({ host: '127.0.0.1', port: 0 });
    const address = module.server.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const discovery = new StaticDiscovery({ blob: [`http://127.0.0.1:${port}`] });
    for (const service of ['gateway', 'profile', 'car'] as const) {
      clients[service] = createRpcClient(blobRpc, { discovery, observability: observabilityOf(service) });
    }
  });

  after(async () => {
    await module.close();
    await bus.close();
    await engine.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function call<T>(caller: Caller | undefined, work: (ctx: ReturnType<typeof createBackgroundContext>) => Promise<T>): Promise<T> {
    const ctx = createBackgroundContext(observabilityOf('test'), 'test', { budgetMs: 10_000, ...(caller && { caller }) });
    try {
      return await work(ctx);
    } finally {
      ctx.dispose();
    }
  }

  async function storedFiles(): Promise<string[]> {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  }

  async function eventsFor(subject: string, count: number): Promise<EventEnvelope[]> {
    const until = Date.now() + 5_000;
    for (;;) {
      const found = published.filter((event) => event.subject === subject);
      if (found.length >= count || Date.now() > until) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('uploads through the signed URL, completes, and serves the cleaned bytes; blob.uploaded is published', async () => {
    const photo = await jpegWithGpsSample(640, 480);
    const { blob, upload } = await call(riderA, (ctx) =>
      clients.gateway.CreateUpload({ purpose: 'licence_front', contentType: 'image/jpeg', sizeBytes: photo.length }, ctx),
    );
    assert.equal(blob.status, 'pending');
    assert.equal(blob.ownerId, riderA.userId);
    // The gateway passes the browser's PUT on without an end user: the signature decides.
    const put = await call(undefined, (ctx) =>
      clients.gateway.PutSignedObject({ ...signedRefOf(upload.url), contentType: 'image/jpeg', contentBase64: Buffer.from(photo).toString('base64') }, ctx),
    );
    assert.equal(put.sizeBytes, photo.length);
    const done = await call(riderA, (ctx) => clients.gateway.CompleteUpload({ blobId: blob.id }, ctx));
    assert.equal(done.status, 'uploaded');
    const url = await call(riderA, (ctx) => clients.gateway.GetDownloadUrl({ blobId: blob.id }, ctx));
    const served = await call(undefined, (ctx) => clients.gateway.GetSignedObject(signedRefOf(url.url), ctx));
    const bytes = Buffer.from(served.contentBase64, 'base64');
    assert.equal(served.contentType, 'image/jpeg');
    assert.equal(bytes.length, done.sizeBytes);
    assert.equal(await hasGpsExif(bytes), false);
    assert.deepEqual(await sharp(bytes).metadata().then(({ width, height }) => ({ width, height })), { width: 640, height: 480 });
    const [event] = await eventsFor(blob.id, 1);
    assert.equal(event?.type, 'blob.uploaded');
  });

  it('refuses server fields in the input (mass assignment) with 400, and creates nothing', async () => {
    for (const extra of [{ status: 'uploaded' }, { sha256: 'a'.repeat(64) }, { id: uuidV7Ids.next() }, { sizeBytes: 10, declaredSizeBytes: 1 }]) {
      await assert.rejects(
        call(riderA, (ctx) =>
          clients.gateway.CreateUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10, ...extra } as never, ctx),
        ),
        { code: 'INVALID_ARGUMENT' },
        JSON.stringify(extra),
      );
    }
    const page = await call(riderA, (ctx) => clients.gateway.ListByOwner({ limit: 100, purpose: 'selfie' }, ctx));
    assert.deepEqual(page.items, []);
  });

  it("answers rider A's questions about rider B's blob as not found", async () => {
    const { blob } = await call(riderB, (ctx) => clients.gateway.CreateUpload({ purpose: 'selfie', contentType: 'image/png', sizeBytes: 10 }, ctx));
    await assert.rejects(call(riderA, (ctx) => clients.gateway.Get({ blobId: blob.id }, ctx)), { code: 'NOT_FOUND', reason: 'BLOB_NOT_FOUND' });
    await assert.rejects(call(riderA, (ctx) => clients.gateway.Delete({ blobId: blob.id }, ctx)), { code: 'NOT_FOUND', reason: 'BLOB_NOT_FOUND' });
    await assert.rejects(call(riderA, (ctx) => clients.gateway.ListByOwner({ ownerId: riderB.userId, limit: 10 }, ctx)), { code: 'NOT_FOUND', reason: 'OWNER_NOT_FOUND' });
  });

  it('refuses a tampered signature with PERMISSION_DENIED and stores nothing', async () => {
    const before = await storedFiles();
    const { upload } = await call(riderA, (ctx) => clients.gateway.CreateUpload({ purpose: 'selfie', contentType: 'image/png', sizeBytes: 10 }, ctx));
    const ref = signedRefOf(upload.url);
    await assert.rejects(
      call(undefined, (ctx) =>
        clients.gateway.PutSignedObject({ ...ref, expires: String(Number(ref.expires) + 3600), contentType: 'image/png', contentBase64: 'AAAA' }, ctx),
      ),
      { code: 'PERMISSION_DENIED', reason: 'SIGNATURE_INVALID' },
    );
    assert.deepEqual(await storedFiles(), before);
  });

  it('lets profile read a licence photo for itself, and refuses services the contract does not list', async () => {
    const photo = await jpegWithGpsSample();
    const { blob, upload } = await call(undefined, (ctx) =>
      clients.profile.CreateUpload({ ownerId: riderA.userId, purpose: 'licence_back', contentType: 'image/jpeg', sizeBytes: photo.length }, ctx),
    );
    await call(undefined, (ctx) => clients.gateway.PutSignedObject({ ...signedRefOf(upload.url), contentType: 'image/jpeg', contentBase64: Buffer.from(photo).toString('base64') }, ctx));
    await call(undefined, (ctx) => clients.profile.CompleteUpload({ blobId: blob.id }, ctx));
    const read = await call(undefined, (ctx) => clients.profile.ReadContent({ blobId: blob.id }, ctx));
    assert.equal(read.blob.id, blob.id);
    assert.equal(await hasGpsExif(Buffer.from(read.contentBase64, 'base64')), false);
    await assert.rejects(call(riderA, (ctx) => clients.gateway.ReadContent({ blobId: blob.id }, ctx)), { code: 'PERMISSION_DENIED', reason: 'CALLER_NOT_ALLOWED' });
    await assert.rejects(call(undefined, (ctx) => clients.car.Get({ blobId: blob.id }, ctx)), { code: 'PERMISSION_DENIED', reason: 'CALLER_NOT_ALLOWED' });
    await assert.rejects(call(undefined, (ctx) => clients.profile.PutSignedObject({ ...signedRefOf(upload.url), contentType: 'image/jpeg', contentBase64: 'AAAA' }, ctx)), {
      code: 'PERMISSION_DENIED',
      reason: 'CALLER_NOT_ALLOWED',
    });
  });

  it('erases every blob of an owner for profile, bytes included, and publishes blob.deleted', async () => {
    const owner: Caller = { userId: uuidV7Ids.next(), role: 'rider', plan: 'free' };
    const photo = await jpegWithGpsSample();
    const { blob, upload } = await call(owner, (ctx) => clients.gateway.CreateUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: photo.length }, ctx));
    await call(undefined, (ctx) => clients.gateway.PutSignedObject({ ...signedRefOf(upload.url), contentType: 'image/jpeg', contentBase64: Buffer.from(photo).toString('base64') }, ctx));
    await call(owner, (ctx) => clients.gateway.CompleteUpload({ blobId: blob.id }, ctx));
    assert.ok((await storedFiles()).includes(blob.id));
    assert.deepEqual(await call(undefined, (ctx) => clients.profile.DeleteByOwner({ ownerId: owner.userId }, ctx)), { deletedCount: 1 });
    assert.equal((await storedFiles()).includes(blob.id), false);
    const events = await eventsFor(blob.id, 2);
    assert.deepEqual(events.map((event) => event.type), ['blob.uploaded', 'blob.deleted']);
  });
});

describe('blob module on an S3-compatible store (s3rver)', () => {
  let engine: SqlEngine;
  let bus: InProcessEventBus;
  let module: BlobModule;
  let s3: Awaited<ReturnType<typeof startS3rver>>;

  before(async () => {
    s3 = await startS3rver('carshare-module-test');
    engine = await openSqlEngine({ dataDir: 'memory://' });
    bus = new InProcessEventBus();
    module = createBlobModule({
      config: loadBlobConfig({
        'log.level': 'silent',
        'store.s3.endpoint': s3.endpoint,
        'store.s3.bucket': 'carshare-module-test',
        'store.s3.accessKeyId': 'S3RVER',
        'store.s3.secretAccessKey': 'S3RVER',
      }),
      observability: observabilityOf('blob'),
      database: engine.forService('blob'),
      bus,
      concurrentRelays: false,
      discovery: new StaticDiscovery({}),
      clock: systemClock,
      ids: uuidV7Ids,
    });
    await module.start({ background: false });
  });

  after(async () => {
    await module.close();
    await bus.close();
    await engine.close();
    await s3.close();
  });

  it('uploads straight to the store on a presigned URL, completes, and downloads the cleaned copy', async () => {
    assert.equal(module.store.kind, 's3');
    const photo = await jpegWithGpsSample();
    const { blob, upload } = await module.service.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: photo.length }, riderA);
    assert.ok(upload.url.startsWith(s3.endpoint), upload.url);
    const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: photo });
    assert.equal(put.status, 200);
    const done = await module.service.completeUpload({ blobId: blob.id }, riderA);
    assert.equal(done.status, 'uploaded');
    const download = await module.service.getDownloadUrl({ blobId: blob.id }, riderA);
    const got = await fetch(download.url);
    assert.equal(got.status, 200);
    const bytes = new Uint8Array(await got.arrayBuffer());
    assert.equal(bytes.length, done.sizeBytes);
    assert.equal(await hasGpsExif(bytes), false);
    assert.equal(await module.store.sizeOf(`upload/${blob.id}`), undefined, 'the unchecked upload is gone');
    await module.service.delete({ blobId: blob.id }, riderA);
    assert.equal(await module.store.sizeOf(`object/${blob.id}`), undefined, 'deletion reaches the object store');
  });
});
