import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BlobContentType, BlobPurpose } from '@carshare/contracts';
import type { Caller } from '@carshare/platform';
import { failOnCall } from '@carshare/testing';
import sharp from 'sharp';
import { objectKeyOf, uploadKeyOf } from './domain/blob.ts';
import { concatBytes, jpegSample, pdfSample, windowsExecutableSample, zipEndOfDirectorySample } from './testing/content-samples.ts';
import { hasGpsExif, jpegWithGpsSample } from './testing/image-samples.ts';
import { blobTestTtls, newBlobTestService, signedRefOf } from './testing/new-blob-test-service.ts';

const riderA: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8057', role: 'rider', plan: 'free', token: 't' };
const riderB: Caller = { ...riderA, userId: '01890a5d-ac96-774b-bcce-b302099a8058' };
const operator: Caller = { ...riderA, userId: '01890a5d-ac96-774b-bcce-b302099a8059', role: 'operator' };
const mebibyte = 1024 * 1024;

describe('blob service', () => {
  let t: Awaited<ReturnType<typeof newBlobTestService>>;
  beforeEach(async () => {
    t = await newBlobTestService();
  });
  afterEach(() => t.close());

  /** CreateUpload, then the PUT as the gateway passes it on: the files store's whole upload. */
  async function upload(caller: Caller | undefined, bytes: Uint8Array, options: { purpose?: BlobPurpose; contentType?: BlobContentType; ownerId?: string } = {}) {
    const created = await t.sut.createUpload(
      { purpose: options.purpose ?? 'licence_front', contentType: options.contentType ?? 'image/jpeg', sizeBytes: Math.max(bytes.length, 1), ownerId: options.ownerId },
      caller,
    );
    await t.sut.putSignedObject({ ...signedRefOf(created.upload.url), contentType: created.upload.headers['content-type'] ?? '', bytes });
    return created;
  }

  async function uploaded(caller: Caller, bytes?: Uint8Array) {
    const { blob } = await upload(caller, bytes ?? (await jpegWithGpsSample()));
    return t.sut.completeUpload({ blobId: blob.id }, caller);
  }

  describe('upload', () => {
    it('creates a pending blob owned by the caller with a signed PUT URL that expires', async () => {
      const { blob, upload: url } = await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/png', sizeBytes: 1234 }, riderA);
      assert.deepEqual(blob, {
        id: blob.id,
        ownerId: riderA.userId,
        purpose: 'selfie',
        contentType: 'image/png',
        declaredSizeBytes: 1234,
        status: 'pending',
        createdAt: t.fakes.clock.now(),
      });
      assert.equal(url.method, 'PUT');
      assert.deepEqual(url.headers, { 'content-type': 'image/png' });
      assert.match(url.url, new RegExp(`^/blobs/upload/${blob.id}\\?expires=\\d+&signature=`));
      assert.equal(url.expiresAt, t.fakes.clock.now() + blobTestTtls.uploadUrlTtlMs);
      assert.deepEqual(await t.fakes.blobs.find(blob.id), blob);
    });

    it('checks, strips EXIF GPS from, hashes and completes an uploaded photo, and says so once', async () => {
      const photo = await jpegWithGpsSample();
      const { blob } = await upload(riderA, photo);
      t.fakes.clock.advance(5_000);
      const done = await t.sut.completeUpload({ blobId: blob.id }, riderA);
      const stored = (await t.fakes.store.get(objectKeyOf(blob.id))) as Uint8Array;
      assert.equal(done.status, 'uploaded');
      assert.equal(done.uploadedAt, t.fakes.clock.now());
      assert.equal(done.sizeBytes, stored.length);
      assert.match(done.sha256 ?? '', /^[0-9a-f]{64}$/);
      assert.equal(await hasGpsExif(stored), false, 'the stored copy has no GPS');
      assert.equal((await sharp(stored).metadata()).format, 'jpeg');
      assert.deepEqual(await t.storedKeys(), [objectKeyOf(blob.id)], 'the unchecked upload is gone');
      assert.deepEqual(await t.fakes.blobs.find(blob.id), done);
      // Again: the same answer, no second event.
      assert.deepEqual(await t.sut.completeUpload({ blobId: blob.id }, riderA), done);
      assert.deepEqual(t.fakes.outbox.typesFor(blob.id), ['blob.uploaded']);
      const { data } = t.fakes.outbox.events[0] as { data: Record<string, unknown> };
      assert.deepEqual(data, { blobId: blob.id, ownerId: riderA.userId, purpose: 'licence_front', contentType: 'image/jpeg', sizeBytes: stored.length, sha256: done.sha256 });
    });

    it('answers a completion that lost the race to another with the winner\'s blob', async () => {
      const { blob } = await upload(riderA, await jpegWithGpsSample());
      const done = await t.sut.completeUpload({ blobId: blob.id }, riderA);
      // The loser read the record while it was still pending; the winner then removed the upload.
      const find = t.fakes.blobs.find.bind(t.fakes.blobs);
      let reads = 0;
      t.fakes.blobs.find = async (id) => (reads++ === 0 ? { ...done, status: 'pending' } : find(id));
      assert.deepEqual(await t.sut.completeUpload({ blobId: blob.id }, riderA), done);
    });

    it('keeps a licence PDF as it was uploaded', async () => {
      const pdf = pdfSample();
      const { blob } = await upload(riderA, pdf, { contentType: 'application/pdf' });
      const done = await t.sut.completeUpload({ blobId: blob.id }, riderA);
      assert.deepEqual(await t.fakes.store.get(objectKeyOf(blob.id)), pdf);
      assert.equal(done.sizeBytes, pdf.length);
    });

    it('says BLOB_NOT_UPLOADED when completing before any PUT, and keeps the blob pending', async () => {
      const { blob } = await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10 }, riderA);
      await assert.rejects(t.sut.completeUpload({ blobId: blob.id }, riderA), { code: 'FAILED_PRECONDITION', reason: 'BLOB_NOT_UPLOADED' });
      assert.equal((await t.fakes.blobs.find(blob.id))?.status, 'pending');
    });

    it('refuses a type the purpose does not take', async () => {
      await assert.rejects(t.sut.createUpload({ purpose: 'selfie', contentType: 'application/pdf', sizeBytes: 10 }, riderA), {
        code: 'INVALID_ARGUMENT',
        reason: 'BLOB_TYPE_NOT_ALLOWED',
      });
    });

    it('lets a service or an operator create an upload for a rider, and a service must name the owner', async () => {
      const forRider = await t.sut.createUpload({ ownerId: riderA.userId, purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10 }, undefined);
      assert.equal(forRider.blob.ownerId, riderA.userId);
      const byOperator = await t.sut.createUpload({ ownerId: riderA.userId, purpose: 'damage_photo', contentType: 'image/jpeg', sizeBytes: 10 }, operator);
      assert.equal(byOperator.blob.ownerId, riderA.userId);
      await assert.rejects(t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10 }, undefined), { reason: 'OWNER_REQUIRED' });
    });
  });

  describe('refused uploads leave nothing stored', () => {
    async function assertRefused(bytes: Uint8Array, reason: string, problem: string, contentType: BlobContentType = 'image/jpeg') {
      const { blob } = await upload(riderA, bytes, { contentType });
      await assert.rejects(t.sut.completeUpload({ blobId: blob.id }, riderA), (error: { code: string; reason: string; details: { problem: string } }) => {
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.equal(error.reason, reason);
        assert.equal(error.details.problem, problem);
        return true;
      });
      assert.equal(await t.fakes.blobs.find(blob.id), undefined, 'no record');
      assert.deepEqual(await t.storedKeys(), [], 'no bytes');
      assert.deepEqual(t.fakes.outbox.events, [], 'no event');
    }

    it('a 20 MB upload is refused before a record exists', async () => {
      await assert.rejects(t.sut.createUpload({ purpose: 'licence_front', contentType: 'image/jpeg', sizeBytes: 20 * mebibyte }, riderA), {
        code: 'INVALID_ARGUMENT',
        reason: 'BLOB_TOO_LARGE',
      });
      assert.deepEqual((await t.sut.listByOwner({ limit: 10 }, riderA)).items, []);
    });

    it('a 20 MB PUT on a URL for less is refused, and nothing is stored', async () => {
      const { upload: url } = await t.sut.createUpload({ purpose: 'licence_front', contentType: 'image/jpeg', sizeBytes: mebibyte }, riderA);
      const big = concatBytes(jpegSample(), new Uint8Array(20 * mebibyte));
      await assert.rejects(t.sut.putSignedObject({ ...signedRefOf(url.url), contentType: 'image/jpeg', bytes: big }), { reason: 'BLOB_TOO_LARGE' });
      assert.deepEqual(await t.storedKeys(), []);
    });

    it('20 MB that reached the store anyway (a client lying to S3) is refused at completion and deleted', async () => {
      const { blob } = await t.sut.createUpload({ purpose: 'licence_front', contentType: 'image/jpeg', sizeBytes: 10 * mebibyte }, riderA);
      await t.fakes.store.put(uploadKeyOf(blob.id), new Uint8Array(20 * mebibyte));
      // Refused from the store's metadata: the 20 MB are never read into memory.
      failOnCall(t.fakes.store, 'get', 1, new Error('read the whole upload'));
      await assert.rejects(t.sut.completeUpload({ blobId: blob.id }, riderA), { reason: 'BLOB_TOO_LARGE' });
      assert.equal(await t.fakes.blobs.find(blob.id), undefined);
      assert.deepEqual(await t.storedKeys(), []);
    });

    it('an executable renamed .jpg', () => assertRefused(windowsExecutableSample(), 'BLOB_REJECTED', 'UNKNOWN_TYPE'));
    it('a zero-byte file', () => assertRefused(new Uint8Array(), 'BLOB_REJECTED', 'EMPTY'));
    it('a polyglot: a real photo that is also a ZIP archive', async () => {
      await assertRefused(concatBytes(await jpegWithGpsSample(), zipEndOfDirectorySample()), 'BLOB_REJECTED', 'POLYGLOT');
    });
    it('a polyglot: a photo whose comment is an HTML page', () => assertRefused(jpegSample({ comment: '<html><script>fetch("/x")</script>' }), 'BLOB_REJECTED', 'POLYGLOT'));
    it('a PNG declared as a JPEG', async () => {
      await assertRefused(new Uint8Array(await sharp(await jpegWithGpsSample()).png().toBuffer()), 'BLOB_REJECTED', 'TYPE_MISMATCH');
    });
    it('a JPEG whose structure is right but whose pixels cannot be decoded', () => assertRefused(jpegSample(), 'BLOB_REJECTED', 'MALFORMED'));
  });

  describe("rider A and rider B's blob", () => {
    it('A cannot read, complete, get a URL for, read the bytes of, or delete B\'s blob: not found, as for an unknown id', async () => {
      const blob = await uploaded(riderB);
      const notFound = { code: 'NOT_FOUND', reason: 'BLOB_NOT_FOUND' };
      await assert.rejects(t.sut.get({ blobId: blob.id }, riderA), notFound);
      await assert.rejects(t.sut.completeUpload({ blobId: blob.id }, riderA), notFound);
      await assert.rejects(t.sut.getDownloadUrl({ blobId: blob.id }, riderA), notFound);
      await assert.rejects(t.sut.readContent({ blobId: blob.id }, riderA), notFound);
      await assert.rejects(t.sut.delete({ blobId: blob.id }, riderA), notFound);
      await assert.rejects(t.sut.get({ blobId: '01890a5d-ac96-774b-bcce-000000000000' }, riderA), notFound);
      assert.equal((await t.sut.get({ blobId: blob.id }, riderB)).id, blob.id);
    });

    it("A cannot list B's blobs, nor create or erase blobs in B's name", async () => {
      await uploaded(riderB);
      const ownerNotFound = { code: 'NOT_FOUND', reason: 'OWNER_NOT_FOUND' };
      await assert.rejects(t.sut.listByOwner({ ownerId: riderB.userId, limit: 10 }, riderA), ownerNotFound);
      await assert.rejects(t.sut.createUpload({ ownerId: riderB.userId, purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10 }, riderA), ownerNotFound);
      await assert.rejects(t.sut.deleteByOwner({ ownerId: riderB.userId }, riderA), ownerNotFound);
      assert.deepEqual((await t.sut.listByOwner({ limit: 10 }, riderA)).items, []);
      assert.equal((await t.sut.listByOwner({ limit: 10 }, riderB)).items.length, 1);
    });

    it("A cannot replace B's blob: a tampered URL is refused, and B's URL stops working once completed", async () => {
      const photo = await jpegWithGpsSample();
      const { blob, upload: url } = await upload(riderB, photo);
      const ref = signedRefOf(url.url);
      const forged = { ...ref, signature: `${ref.signature.slice(0, -2)}${ref.signature.endsWith('AA') ? 'BB' : 'AA'}` };
      await assert.rejects(t.sut.putSignedObject({ ...forged, contentType: 'image/jpeg', bytes: jpegSample() }), { code: 'PERMISSION_DENIED', reason: 'SIGNATURE_INVALID' });
      const done = await t.sut.completeUpload({ blobId: blob.id }, riderB);
      await assert.rejects(t.sut.putSignedObject({ ...ref, contentType: 'image/jpeg', bytes: photo }), { code: 'PERMISSION_DENIED', reason: 'URL_EXPIRED' });
      assert.deepEqual(await t.fakes.blobs.find(blob.id), done);
      assert.deepEqual(await t.storedKeys(), [objectKeyOf(blob.id)]);
    });

    it('an operator reads, gets a URL for and deletes anyone\'s blob', async () => {
      const blob = await uploaded(riderB);
      assert.equal((await t.sut.get({ blobId: blob.id }, operator)).id, blob.id);
      assert.equal((await t.sut.getDownloadUrl({ blobId: blob.id }, operator)).method, 'GET');
      assert.equal((await t.sut.listByOwner({ ownerId: riderB.userId, limit: 10 }, operator)).items.length, 1);
      await t.sut.delete({ blobId: blob.id }, operator);
      assert.equal(await t.fakes.blobs.find(blob.id), undefined);
    });
  });

  describe('signed URLs', () => {
    it('serves the cleaned bytes on a download URL until it expires, then 403', async () => {
      const blob = await uploaded(riderA);
      const url = await t.sut.getDownloadUrl({ blobId: blob.id }, riderA);
      assert.equal(url.expiresAt, t.fakes.clock.now() + blobTestTtls.downloadUrlTtlMs);
      const served = await t.sut.getSignedObject(signedRefOf(url.url));
      assert.equal(served.contentType, 'image/jpeg');
      assert.deepEqual(served.bytes, await t.fakes.store.get(objectKeyOf(blob.id)));
      t.fakes.clock.advance(blobTestTtls.downloadUrlTtlMs);
      await assert.rejects(t.sut.getSignedObject(signedRefOf(url.url)), { code: 'PERMISSION_DENIED', reason: 'URL_EXPIRED' });
    });

    it('refuses an expired upload URL and a download URL used as an upload URL, storing nothing', async () => {
      const { upload: url } = await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 100 }, riderA);
      t.fakes.clock.advance(blobTestTtls.uploadUrlTtlMs + 1);
      await assert.rejects(t.sut.putSignedObject({ ...signedRefOf(url.url), contentType: 'image/jpeg', bytes: jpegSample() }), { reason: 'URL_EXPIRED' });
      const blob = await uploaded(riderA);
      const download = await t.sut.getDownloadUrl({ blobId: blob.id }, riderA);
      await assert.rejects(t.sut.putSignedObject({ ...signedRefOf(download.url), contentType: 'image/jpeg', bytes: jpegSample() }), { code: 'PERMISSION_DENIED' });
      assert.deepEqual(await t.storedKeys(), [objectKeyOf(blob.id)]);
    });

    it('refuses an upload with another content type than the signed one', async () => {
      const { upload: url } = await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 100 }, riderA);
      await assert.rejects(t.sut.putSignedObject({ ...signedRefOf(url.url), contentType: 'text/html', bytes: jpegSample() }), { reason: 'SIGNATURE_INVALID' });
    });

    it('gives no URL for a blob not completed yet', async () => {
      const { blob } = await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 100 }, riderA);
      await assert.rejects(t.sut.getDownloadUrl({ blobId: blob.id }, riderA), { reason: 'BLOB_NOT_UPLOADED' });
    });
  });

  describe('reading and deleting', () => {
    it('hands a service the cleaned bytes of any blob', async () => {
      const blob = await uploaded(riderA);
      const { bytes } = await t.sut.readContent({ blobId: blob.id }, undefined);
      assert.equal(await hasGpsExif(bytes), false);
      assert.deepEqual(bytes, await t.fakes.store.get(objectKeyOf(blob.id)));
    });

    it('lists the caller\'s blobs newest first, by purpose, page by page', async () => {
      const first = await uploaded(riderA);
      const second = (await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 9 }, riderA)).blob;
      const page = await t.sut.listByOwner({ limit: 1 }, riderA);
      assert.deepEqual(page.items.map((blob) => blob.id), [second.id]);
      const next = await t.sut.listByOwner({ limit: 1, cursor: page.nextCursor }, riderA);
      assert.deepEqual(next.items.map((blob) => blob.id), [first.id]);
      assert.deepEqual((await t.sut.listByOwner({ limit: 10, purpose: 'selfie' }, riderA)).items.map((blob) => blob.id), [second.id]);
    });

    it('deletes the record and its bytes, and says so', async () => {
      const blob = await uploaded(riderA);
      assert.deepEqual(await t.sut.delete({ blobId: blob.id }, riderA), { blobId: blob.id });
      assert.equal(await t.fakes.blobs.find(blob.id), undefined);
      assert.deepEqual(await t.storedKeys(), []);
      assert.deepEqual(t.fakes.outbox.typesFor(blob.id), ['blob.uploaded', 'blob.deleted']);
      await assert.rejects(t.sut.delete({ blobId: blob.id }, riderA), { reason: 'BLOB_NOT_FOUND' });
    });

    it('keeps the record when the bytes could not be deleted, so a retry finds it', async () => {
      const blob = await uploaded(riderA);
      failOnCall(t.fakes.store, 'delete', 2, new Error('disk gone'));
      await assert.rejects(t.sut.delete({ blobId: blob.id }, riderA), /disk gone/);
      assert.equal((await t.fakes.blobs.find(blob.id))?.id, blob.id);
      await t.sut.delete({ blobId: blob.id }, riderA);
      assert.deepEqual(await t.storedKeys(), []);
    });

    it("erases every blob of an owner, pending and uploaded, bytes included, and no one else's", async () => {
      for (let index = 0; index < 3; index += 1) await uploaded(riderA);
      await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 9 }, riderA);
      const kept = await uploaded(riderB);
      assert.deepEqual(await t.sut.deleteByOwner({ ownerId: riderA.userId }, undefined), { deletedCount: 4 });
      assert.deepEqual((await t.sut.listByOwner({ limit: 10 }, riderA)).items, []);
      assert.deepEqual(await t.storedKeys(), [objectKeyOf(kept.id)]);
      assert.deepEqual((await t.sut.deleteByOwner({ ownerId: riderA.userId }, riderA)), { deletedCount: 0 });
    });
  });

  describe('sweeper', () => {
    it('removes pending blobs past their TTL with their bytes, and leaves young and uploaded ones', async () => {
      const stale = await upload(riderA, jpegSample());
      const done = await uploaded(riderA);
      t.fakes.clock.advance(blobTestTtls.pendingTtlMs - 1_000);
      const young = await t.sut.createUpload({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 9 }, riderA);
      assert.equal(await t.sut.sweepPending(), 0, 'nothing is past its TTL yet');
      t.fakes.clock.advance(1_001);
      assert.equal(await t.sut.sweepPending(), 1);
      assert.equal(await t.fakes.blobs.find(stale.blob.id), undefined);
      assert.equal((await t.fakes.blobs.find(young.blob.id))?.status, 'pending');
      assert.equal((await t.fakes.blobs.find(done.id))?.status, 'uploaded');
      assert.deepEqual(await t.storedKeys(), [objectKeyOf(done.id)]);
    });
  });
});
