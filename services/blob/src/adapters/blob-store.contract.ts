import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uuidV7Ids } from '@carshare/platform';
import type { FakeClock } from '@carshare/testing';
import type { BlobStore, SignedRequest } from '../ports.ts';

/** What came back from sending a signed request: the status and the body. */
export interface SignedResponse {
  status: number;
  body: Uint8Array;
}

export interface BlobStoreUnderTest {
  store: BlobStore;
  /** Sends a request to a signed URL the way a browser would (over HTTP, or through the service for files). */
  send(request: { method: 'PUT' | 'GET'; url: string; headers: Record<string, string>; body?: Uint8Array }): Promise<SignedResponse>;
  /** False for servers that accept any signature (s3rver): the signature tests are skipped there. */
  checksSignatures: boolean;
  close(): Promise<void>;
}

const bytesOf = (text: string) => Uint8Array.from(Buffer.from(text));

/**
 * What every BlobStore does, on files and on S3-compatible servers. The clock is the store's:
 * signing happens at its time, so an expired URL is made by signing in the past.
 */
export function blobStoreContract(adapter: string, open: (clock: FakeClock) => Promise<BlobStoreUnderTest>, clock: FakeClock): void {
  describe(`BlobStore contract: ${adapter}`, () => {
    let subject: BlobStoreUnderTest;
    before(async () => {
      clock.set(Date.now());
      subject = await open(clock);
    });
    after(() => subject.close());

    const keyOf = () => `upload/${uuidV7Ids.next()}`;
    const hour = 60 * 60 * 1000;

    it('keeps bytes under a key: put, size, get, overwrite, delete', async () => {
      const key = keyOf();
      assert.equal(await subject.store.get(key), undefined);
      assert.equal(await subject.store.sizeOf(key), undefined);
      await subject.store.put(key, bytesOf('first version'), 'image/jpeg');
      assert.equal(await subject.store.sizeOf(key), 13);
      assert.deepEqual(await subject.store.get(key), bytesOf('first version'));
      await subject.store.put(key, bytesOf('second'), 'image/jpeg');
      assert.deepEqual(await subject.store.get(key), bytesOf('second'));
      await subject.store.delete(key);
      assert.equal(await subject.store.get(key), undefined);
      await subject.store.delete(key);
    });

    it('keeps binary bytes intact, every byte value', async () => {
      const key = keyOf();
      const all = Uint8Array.from({ length: 512 }, (_, index) => index % 256);
      await subject.store.put(key, all, 'application/pdf');
      assert.deepEqual(await subject.store.get(key), all);
      await subject.store.delete(key);
    });

    it('takes a PUT on a signed upload URL with its headers, and serves it on a signed download URL', async () => {
      const key = keyOf();
      const body = bytesOf('\xff\xd8\xff pretend jpeg');
      const upload = await subject.store.signUpload(key, { contentType: 'image/jpeg', sizeBytes: body.length, expiresAt: clock.now() + 60_000 });
      assert.equal(upload.method, 'PUT');
      assert.equal(upload.headers['content-type'], 'image/jpeg');
      assert.ok(upload.expiresAt <= clock.now() + 60_000 && upload.expiresAt > clock.now() + 58_000, 'expires when asked, to the second');
      const put = await subject.send({ method: 'PUT', url: upload.url, headers: upload.headers, body });
      assert.ok(put.status >= 200 && put.status < 300, `PUT answered ${put.status}`);
      assert.deepEqual(await subject.store.get(key), body);

      const download = await subject.store.signDownload(key, { contentType: 'image/jpeg', expiresAt: clock.now() + 60_000 });
      assert.equal(download.method, 'GET');
      const got = await subject.send({ method: 'GET', url: download.url, headers: download.headers });
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, body);
      await subject.store.delete(key);
    });

    describe('signatures (on servers that check them)', () => {
      const skip = () => !subject.checksSignatures;

      async function signedPair(key: string, expiresAt: number): Promise<{ upload: SignedRequest; download: SignedRequest }> {
        return {
          upload: await subject.store.signUpload(key, { contentType: 'image/png', sizeBytes: 4, expiresAt }),
          download: await subject.store.signDownload(key, { contentType: 'image/png', expiresAt }),
        };
      }

      it('refuses a tampered signature, key or expiry with 403, and stores nothing', async (t) => {
        if (skip()) return t.skip('this server accepts any signature');
        const key = keyOf();
        const { upload } = await signedPair(key, clock.now() + 60_000);
        const url = new URL(upload.url, 'http://store.invalid');
        const tampered = (change: (url: URL) => void) => {
          const copy = new URL(url);
          change(copy);
          return upload.url.startsWith('/') ? `${copy.pathname}${copy.search}` : copy.toString();
        };
        const variants = [
          tampered((copy) => {
            const name = [...copy.searchParams.keys()].find((key) => /signature/i.test(key)) as string;
            const value = copy.searchParams.get(name) as string;
            copy.searchParams.set(name, `${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`);
          }),
          tampered((copy) => {
            copy.pathname = copy.pathname.replace(key.split('/')[1] as string, uuidV7Ids.next());
          }),
          tampered((copy) => {
            const name = [...copy.searchParams.keys()].find((key) => /expires/i.test(key)) as string;
            copy.searchParams.set(name, String(Number(copy.searchParams.get(name)) + 3600));
          }),
        ];
        for (const variant of variants) {
          const answer = await subject.send({ method: 'PUT', url: variant, headers: upload.headers, body: bytesOf('evil') });
          assert.equal(answer.status, 403, variant);
        }
        assert.equal(await subject.store.sizeOf(key), undefined);
      });

      it('refuses an expired URL with 403', async (t) => {
        if (skip()) return t.skip('this server accepts any signature');
        const key = keyOf();
        await subject.store.put(key, bytesOf('kept'), 'image/png');
        const realNow = clock.now();
        clock.set(realNow - 2 * hour);
        const { upload, download } = await signedPair(key, clock.now() + 60_000);
        clock.set(realNow);
        assert.equal((await subject.send({ method: 'PUT', url: upload.url, headers: upload.headers, body: bytesOf('late') })).status, 403);
        assert.equal((await subject.send({ method: 'GET', url: download.url, headers: download.headers })).status, 403);
        assert.deepEqual(await subject.store.get(key), bytesOf('kept'));
        await subject.store.delete(key);
      });

      it('refuses a download URL used to upload, and an upload with another content type', async (t) => {
        if (skip()) return t.skip('this server accepts any signature');
        const key = keyOf();
        const { upload, download } = await signedPair(key, clock.now() + 60_000);
        assert.equal((await subject.send({ method: 'PUT', url: download.url, headers: upload.headers, body: bytesOf('swap') })).status, 403);
        assert.equal((await subject.send({ method: 'PUT', url: upload.url, headers: { 'content-type': 'text/html' }, body: bytesOf('<h1>') })).status, 403);
        assert.equal(await subject.store.sizeOf(key), undefined);
      });
    });
  });
}
