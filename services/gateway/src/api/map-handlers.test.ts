import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { generateCity } from '@carshare/city';
import { StreetMap } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { ResourceExhausted, createHttpServer, systemClock, type HttpServer } from '@carshare/platform';
import { Compile } from 'typebox/compile';
import { acceptsGzip, registerMapRoutes } from './map-handlers.ts';
import type { PublicRouteDeps } from './public-route.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

describe('GET /v1/map/streets', () => {
  let app: HttpServer;
  let limited = false;

  before(async () => {
    app = createHttpServer({ observability, clock: systemClock, errorStyle: 'public', defaultDeadlineMs: 10_000, trustDeadlineHeader: false });
    const deps = {
      rateLimits: {
        beforeBody: async () => {
          if (limited) throw ResourceExhausted('RATE_LIMITED', 'too many requests');
        },
      },
    } as unknown as PublicRouteDeps;
    registerMapRoutes(app, deps, { sizeKm: 2 });
    await app.ready();
  });

  after(async () => {
    await app.close();
  });

  it('serves the city the simulator drives as GeoJSON that matches the contract, cacheable for a day', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/map/streets' });
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^application\/json/);
    assert.match(response.headers['cache-control'] as string, /max-age=86400/);
    const body = response.json() as unknown;
    assert.ok(Compile(StreetMap).Check(body));
    assert.deepEqual(body, JSON.parse(JSON.stringify(generateCity({ sizeKm: 2 }).toGeoJson())));
  });

  it('answers 304 without a body to a client that has the current copy, and 200 to one with an old copy', async () => {
    const first = await app.inject({ method: 'GET', url: '/v1/map/streets' });
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[\w-]+"$/);
    const again = await app.inject({ method: 'GET', url: '/v1/map/streets', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers.etag, etag);
    const weak = await app.inject({ method: 'GET', url: '/v1/map/streets', headers: { 'if-none-match': `"old", W/${etag}` } });
    assert.equal(weak.statusCode, 304);
    const stale = await app.inject({ method: 'GET', url: '/v1/map/streets', headers: { 'if-none-match': '"old"' } });
    assert.equal(stale.statusCode, 200);
  });

  it('sends the streets gzipped to a client that takes gzip, with its own ETag, and plain to one that does not', async () => {
    const plain = await app.inject({ method: 'GET', url: '/v1/map/streets' });
    const zipped = await app.inject({ method: 'GET', url: '/v1/map/streets', headers: { 'accept-encoding': 'br, gzip, deflate' } });
    assert.equal(zipped.statusCode, 200);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'accept-encoding');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers.vary, 'accept-encoding');
    assert.equal(gunzipSync(zipped.rawPayload).toString('utf8'), plain.body);
    assert.ok(zipped.rawPayload.length * 4 < plain.rawPayload.length, `${zipped.rawPayload.length} B gzipped of ${plain.rawPayload.length}`);
    assert.notEqual(zipped.headers.etag, plain.headers.etag);
    const again = await app.inject({ method: 'GET', url: '/v1/map/streets', headers: { 'accept-encoding': 'gzip', 'if-none-match': zipped.headers.etag as string } });
    assert.equal(again.statusCode, 304);
    const refused = await app.inject({ method: 'GET', url: '/v1/map/streets', headers: { 'accept-encoding': 'gzip;q=0, identity' } });
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  it('reads Accept-Encoding as RFC 9110 says: gzip or * without q=0', () => {
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip('gzip'), true);
    assert.equal(acceptsGzip('deflate, GZIP;q=0.5'), true);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip('br;q=1, *;q=0'), false);
  });

  it('is held to the per-IP rate limit', async () => {
    limited = true;
    const response = await app.inject({ method: 'GET', url: '/v1/map/streets' });
    limited = false;
    assert.equal(response.statusCode, 429);
    assert.equal((response.json() as { error: { code: string } }).error.code, 'RATE_LIMITED');
  });
});
