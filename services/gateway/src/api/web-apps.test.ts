import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { createHttpServer, systemClock, type HttpServer } from '@carshare/platform';
import { registerSecurityHeaders } from './security-headers.ts';
import { defaultWebApps, immutableCacheControl, registerWebApps } from './web-apps.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

describe('the gateway serving the built web apps', () => {
  let app: HttpServer;
  let folder: string;
  const riderIndex = '<!doctype html><title>rider</title><script type="module" src="/assets/index-Ab12Cd.js"></script>';

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'carshare-web-apps-'));
    const rider = join(folder, 'rider');
    mkdirSync(join(rider, 'assets'), { recursive: true });
    writeFileSync(join(rider, 'index.html'), riderIndex);
    writeFileSync(join(rider, 'assets', 'index-Ab12Cd.js'), 'console.log("rider")');
    // What scripts/build-web.mjs writes beside a text file (the bytes stand in for the compressed ones).
    writeFileSync(join(rider, 'assets', 'index-Ab12Cd.js.br'), 'brotli bytes');
    writeFileSync(join(rider, 'sw.js'), 'self.addEventListener("fetch", () => {})');
    writeFileSync(join(folder, 'secret.txt'), 'outside the dist folder');
    app = createHttpServer({ observability, clock: systemClock, errorStyle: 'public', defaultDeadlineMs: 10_000, trustDeadlineHeader: false });
    await registerSecurityHeaders(app);
    app.get('/v1/things', async () => ({ items: [] }));
    await registerWebApps(app, {
      apps: [
        { title: 'The rider app', prefix: '/', distDir: rider },
        // Never built: the folder does not exist.
        { title: 'The operator console', prefix: '/admin', distDir: join(folder, 'admin-missing') },
      ],
    });
    await app.ready();
  });

  after(async () => {
    await app.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('serves index.html at / to be revalidated on every load, under the apps CSP instead of the API one', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.body, riderIndex);
    assert.match(response.headers['content-type'] as string, /^text\/html/);
    assert.equal(response.headers['cache-control'], 'no-cache');
    const csp = response.headers['content-security-policy'] as string;
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline or foreign script');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(response.headers['x-content-type-options'], 'nosniff', 'the other security headers stay');
  });

  it('lets browsers keep hashed assets for a year, but revalidate un-hashed files like the service worker', async () => {
    const asset = await app.inject({ method: 'GET', url: '/assets/index-Ab12Cd.js' });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.body, 'console.log("rider")');
    assert.match(asset.headers['content-type'] as string, /javascript/);
    assert.equal(asset.headers['cache-control'], immutableCacheControl);
    const worker = await app.inject({ method: 'GET', url: '/sw.js' });
    assert.equal(worker.statusCode, 200);
    assert.equal(worker.headers['cache-control'], 'no-cache');
  });

  it('sends the pre-compressed file to a browser that accepts it, still cached for a year, and the plain one otherwise', async () => {
    const compressed = await app.inject({ method: 'GET', url: '/assets/index-Ab12Cd.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(compressed.statusCode, 200);
    assert.equal(compressed.headers['content-encoding'], 'br');
    assert.equal(compressed.body, 'brotli bytes');
    assert.match(compressed.headers['content-type'] as string, /javascript/);
    assert.match(String(compressed.headers['vary']), /accept-encoding/i);
    assert.equal(compressed.headers['cache-control'], immutableCacheControl);
    const plain = await app.inject({ method: 'GET', url: '/assets/index-Ab12Cd.js', headers: { 'accept-encoding': 'identity' } });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, 'console.log("rider")');
  });

  it('answers the app for any screen path (SPA fallback), query string included', async () => {
    for (const url of ['/verify-email?token=abc', '/trips/123', '/profile/']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.body, riderIndex, url);
      assert.equal(response.headers['cache-control'], 'no-cache', url);
    }
  });

  it('keeps API paths the API: a route still answers, an unknown one is the JSON 404, never the app', async () => {
    const known = await app.inject({ method: 'GET', url: '/v1/things' });
    assert.deepEqual(known.json(), { items: [] });
    for (const url of ['/v1/nothing-here', '/v1', '/rpc/user/Login', '/health/nope', '/docs/missing']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 404, url);
      assert.match(response.headers['content-type'] as string, /^application\/json/, url);
      assert.equal(typeof (response.json() as { error: { code: string } }).error.code, 'string', url);
    }
  });

  it('answers 404 for a missing asset instead of index.html, and never serves files outside the dist folder', async () => {
    const missing = await app.inject({ method: 'GET', url: '/assets/index-Gone00.js' });
    assert.equal(missing.statusCode, 404);
    assert.doesNotMatch(missing.body, /<title>rider/);
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const response = await app.inject({ method: 'GET', url });
      assert.doesNotMatch(response.body, /outside the dist folder/, url);
    }
  });

  it('answers a clear 503 page saying how to build when an app has not been built, at its root and below', async () => {
    for (const url of ['/admin', '/admin/', '/admin/cars']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 503, url);
      assert.match(response.headers['content-type'] as string, /^text\/html/);
      assert.match(response.body, /The operator console is not built/);
      assert.match(response.body, /scripts\/build-web\.mjs/);
      assert.equal(response.headers['cache-control'], 'no-store');
    }
  });

  it('starts serving an app built while the gateway runs, without a restart', async () => {
    const admin = join(folder, 'admin-missing');
    mkdirSync(admin, { recursive: true });
    writeFileSync(join(admin, 'index.html'), '<!doctype html><title>admin</title>');
    try {
      const response = await app.inject({ method: 'GET', url: '/admin/cars' });
      assert.equal(response.statusCode, 200);
      assert.match(response.body, /<title>admin/);
    } finally {
      rmSync(admin, { recursive: true, force: true });
    }
  });

  it('finds this checkout’s apps by default', () => {
    const [rider, admin] = defaultWebApps();
    assert.match(rider!.distDir, /apps[/\\]rider-web[/\\]dist$/);
    assert.equal(rider!.prefix, '/');
    assert.match(admin!.distDir, /apps[/\\]admin-web[/\\]dist$/);
    assert.equal(admin!.prefix, '/admin');
  });
});
