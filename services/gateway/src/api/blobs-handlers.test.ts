import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { maxBlobBytes, type blobRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import {
  NotFound,
  PermissionDenied,
  createHttpServer,
  systemClock,
  type Caller,
  type HttpServer,
  type RpcClient,
  type VerifiedCaller,
} from '@carshare/platform';
import { registerBlobsRoutes } from './blobs-handlers.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
const rider: VerifiedCaller = { userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', token: 'rider-token', issuedAtMs: Date.UTC(2026, 0, 1) };
const blobId = '0190f000-0000-7000-8000-0000000000b1';

/** The blob service as the gateway's client sees it: records each call, answers what a test sets. */
class FakeBlobClient {
  calls: { method: string; input: Record<string, unknown>; caller: Caller | undefined }[] = [];
  answer: (method: string, input: Record<string, unknown>) => unknown = () => ({});

  client(): RpcClient<typeof blobRpc.methods> {
    return new Proxy({} as RpcClient<typeof blobRpc.methods>, {
      get: (_target, method: string) => async (input: Record<string, unknown>, ctx: { caller: Caller | undefined }) => {
        this.calls.push({ method, input, caller: ctx.caller });
        return this.answer(method, input);
      },
    });
  }
}

describe('gateway blob routes', () => {
  const blob = new FakeBlobClient();
  let gateway: HttpServer;
  let base: string;

  before(async () => {
    gateway = createHttpServer({ observability, errorStyle: 'public', clock: systemClock, trustDeadlineHeader: false });
    registerBlobsRoutes(
      gateway,
      routeDepsFor([rider]),
      blob.client(),
    );
    await gateway.listen({ host: '127.0.0.1', port: 0 });
    const address = gateway.server.address();
    assert.ok(address && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });
  after(() => gateway.close());
  beforeEach(() => {
    blob.calls = [];
    blob.answer = () => ({});
  });

  const signedPath = `/blobs/upload/${blobId}?expires=1796401360&signature=c2lnbmF0dXJl`;

  it('passes a PUT on a signed URL to PutSignedObject: key, expiry, signature, bare media type, bytes in base64; no end user', async () => {
    blob.answer = () => ({ sizeBytes: 4 });
    const body = Uint8Array.from([0xff, 0xd8, 0xff, 0x00]);
    const response = await fetch(`${base}${signedPath}`, { method: 'PUT', headers: { 'content-type': 'image/jpeg; charset=binary' }, body });
    assert.equal(response.status, 204);
    assert.deepEqual(blob.calls, [
      {
        method: 'PutSignedObject',
        input: { key: `upload/${blobId}`, expires: '1796401360', signature: 'c2lnbmF0dXJl', contentType: 'image/jpeg', contentBase64: Buffer.from(body).toString('base64') },
        caller: undefined,
      },
    ]);
  });

  it('answers a refused signature with 403 in the error shape', async () => {
    blob.answer = () => {
      throw PermissionDenied('SIGNATURE_INVALID', 'the URL signature does not match');
    };
    const response = await fetch(`${base}${signedPath}`, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: new Uint8Array(4) });
    assert.equal(response.status, 403);
    const answer = (await response.json()) as { error: { code: string } };
    assert.equal(answer.error.code, 'SIGNATURE_INVALID');
  });

  it('refuses a body above 10 MiB (413), another media type (415) and a URL without its signature (400) before the blob service', async () => {
    const tooBig = await fetch(`${base}${signedPath}`, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(maxBlobBytes + 1) });
    assert.equal(tooBig.status, 413);
    const html = await fetch(`${base}${signedPath}`, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: '<script>x</script>' });
    assert.equal(html.status, 415);
    const unsigned = await fetch(`${base}/blobs/upload/${blobId}`, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(4) });
    assert.equal(unsigned.status, 400);
    assert.deepEqual(blob.calls, []);
  });

  it('serves a signed GET as bytes that cannot run as a page', async () => {
    blob.answer = () => ({ contentType: 'image/png', contentBase64: Buffer.from('png bytes').toString('base64') });
    const response = await fetch(`${base}/blobs/object/${blobId}?expires=1&signature=abc`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; sandbox");
    assert.equal(Buffer.from(await response.arrayBuffer()).toString(), 'png bytes');
    assert.deepEqual(blob.calls.map((call) => call.input), [{ key: `object/${blobId}`, expires: '1', signature: 'abc' }]);
  });

  it('refuses server fields in POST /v1/blobs (mass assignment) with 400, and a missing token with 401', async () => {
    const headers = { authorization: `Bearer ${rider.token}`, 'content-type': 'application/json' };
    for (const extra of [{ status: 'uploaded' }, { ownerId: '0190f000-0000-7000-8000-000000000002' }, { sha256: 'a'.repeat(64) }]) {
      const response = await fetch(`${base}/v1/blobs`, { method: 'POST', headers, body: JSON.stringify({ purpose: 'selfie', contentType: 'image/jpeg', sizeBytes: 10, ...extra }) });
      assert.equal(response.status, 400, JSON.stringify(extra));
    }
    const anonymous = await fetch(`${base}/v1/blobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anonymous.status, 401);
    assert.deepEqual(blob.calls, []);
  });

  it("passes the rider on to the blob service, and its not-found as a 404", async () => {
    blob.answer = () => {
      throw NotFound('BLOB_NOT_FOUND', `no blob ${blobId}`);
    };
    const response = await fetch(`${base}/v1/blobs/${blobId}`, { headers: { authorization: `Bearer ${rider.token}` } });
    assert.equal(response.status, 404);
    assert.deepEqual(blob.calls, [{ method: 'Get', input: { blobId }, caller: rider }]);
  });
});
