/**
 * Issue 13 finding 8: metrics and the API docs are served on the operations listener, not on the
 * public port, and every path of the public port (unknown ones, preflights, health) is throttled
 * per client IP. The whole gateway module, real HTTP on loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery } from '@carshare/platform';
import { loadGatewayConfig } from './config.ts';
import { everyRpcService } from './every-rpc-service.ts';
import { createGatewayModule, type GatewayModule } from './module.ts';
import { listeningUrl } from './ops-listener.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

describe('the operations listener and the public port', () => {
  let gateway: GatewayModule;
  let publicUrl: string;
  let opsUrl: string;
  let nextClient = 1;
  /** A client address of its own per test (the gateway trusts X-Forwarded-For here), so their counts never mix. */
  const client = () => ({ 'x-forwarded-for': `198.51.100.${nextClient++}` });

  before(async () => {
    const services = everyRpcService();
    gateway = createGatewayModule({
      config: loadGatewayConfig({
        'log.level': 'silent',
        'http.trustProxy': true,
        'rateLimits.anonymousPerIp': { algorithm: 'sliding-window', limit: 3, windowMs: 60_000 },
      }),
      observability,
      // Nothing here reaches a service: the routes under test answer at the edge.
      discovery: new StaticDiscovery(Object.fromEntries(services.map(({ name }) => [name, ['http://127.0.0.1:1']]))),
      services,
    });
    await gateway.start();
    await gateway.server.listen({ host: '127.0.0.1', port: 0 });
    publicUrl = listeningUrl(gateway.server) as string;
    opsUrl = gateway.opsUrl();
  });
  after(async () => {
    await gateway.close();
    await observability.shutdown();
  });

  it('listens apart from the public port, on loopback by default', () => {
    assert.match(opsUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(opsUrl, publicUrl);
  });

  it('serves /metrics, /docs and /docs/json there, and none of them on the public port', async () => {
    const metrics = await fetch(`${opsUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await metrics.text(), /^# HELP /m);

    const document = await fetch(`${opsUrl}/docs/json`);
    assert.equal(document.status, 200);
    const spec = (await document.json()) as { openapi: string; paths: Record<string, unknown>; servers: Array<{ url: string }> };
    assert.equal(spec.openapi, '3.1.0');
    assert.ok(spec.paths['/v1/auth/login'], 'the public API, not the listener’s own routes');
    // A relative server would send "try it out" to this listener: it names the public port instead.
    assert.equal(spec.servers[0]?.url, publicUrl);

    const ui = await fetch(`${opsUrl}/docs/`);
    assert.equal(ui.status, 200);
    assert.match(ui.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(ui.headers.get('x-content-type-options'), 'nosniff');

    for (const path of ['/metrics', '/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/index.html']) {
      const answer = await fetch(`${publicUrl}${path}`, { headers: client() });
      assert.equal(answer.status, 404, `${path} on the public port`);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
    }
  });

  it('throttles unknown paths per client IP, with the rate-limit headers', async () => {
    const headers = client();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const answer = await fetch(`${publicUrl}/v1/wp-admin/${attempt}`, { headers });
      assert.equal(answer.status, 404);
      assert.ok(answer.headers.get('ratelimit'), 'RateLimit header on a 404');
    }
    const refused = await fetch(`${publicUrl}/v1/wp-admin/4`, { headers });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
    // The same client is held on every path, known or not; another client is not.
    assert.equal((await fetch(`${publicUrl}/health/live`, { headers })).status, 429);
    assert.equal((await fetch(`${publicUrl}/v1/wp-admin/1`, { headers: client() })).status, 404);
  });

  it('throttles routes that have no limit of their own, wrong methods and CORS preflights', async () => {
    const health = client();
    for (let attempt = 0; attempt < 3; attempt++) assert.equal((await fetch(`${publicUrl}/health/live`, { headers: health })).status, 200);
    assert.equal((await fetch(`${publicUrl}/health/live`, { headers: health })).status, 429);

    const wrongMethod = client();
    for (let attempt = 0; attempt < 3; attempt++) assert.equal((await fetch(`${publicUrl}/v1/auth/login`, { method: 'GET', headers: wrongMethod })).status, 405);
    assert.equal((await fetch(`${publicUrl}/v1/auth/login`, { method: 'GET', headers: wrongMethod })).status, 429);

    const preflight = { ...client(), origin: 'http://localhost:5173', 'access-control-request-method': 'PUT' };
    for (let attempt = 0; attempt < 3; attempt++) assert.equal((await fetch(`${publicUrl}/v1/profile`, { method: 'OPTIONS', headers: preflight })).status, 204);
    assert.equal((await fetch(`${publicUrl}/v1/profile`, { method: 'OPTIONS', headers: preflight })).status, 429);
  });
});
