import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { NotFound, createHttpServer, systemClock, type HttpServer } from '@carshare/platform';
import { apiContentSecurityPolicy, cspHeader, registerSecurityHeaders, securityHeaders } from './security-headers.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

describe('security headers on every response of the gateway (issue 13 finding 7)', () => {
  let app: HttpServer;

  before(async () => {
    app = createHttpServer({ observability, clock: systemClock, errorStyle: 'public', defaultDeadlineMs: 10_000, trustDeadlineHeader: false });
    await registerSecurityHeaders(app);
    app.get('/v1/ok', async () => ({ ok: true }));
    app.get('/v1/missing', async () => {
      throw NotFound('THING_NOT_FOUND', 'no such thing');
    });
    app.get('/v1/crash', async () => {
      throw new Error('a bug');
    });
    app.get('/v1/own-csp', async (_request, reply) => reply.header('content-security-policy', "default-src 'none'; sandbox").send({ ok: true }));
    await app.ready();
  });

  after(() => app.close());

  const expected = {
    'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
  };

  it('are the set helmet 8 sent with the options the gateway gave it', () => {
    assert.deepEqual({ ...securityHeaders() }, expected);
    assert.equal(securityHeaders()['content-security-policy'], cspHeader(apiContentSecurityPolicy));
  });

  it('come with answers, handled errors, unexpected errors, unknown routes, wrong methods and the platform endpoints', async () => {
    const requests = [
      { method: 'GET', url: '/v1/ok', status: 200 },
      { method: 'GET', url: '/v1/missing', status: 404 },
      { method: 'GET', url: '/v1/crash', status: 500 },
      { method: 'GET', url: '/nowhere', status: 404 },
      { method: 'DELETE', url: '/v1/ok', status: 405 },
      { method: 'GET', url: '/health/live', status: 200 },
    ] as const;
    for (const { method, url, status } of requests) {
      const response = await app.inject({ method, url });
      assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
      for (const [name, value] of Object.entries(expected)) assert.equal(response.headers[name], value, `${name} on ${method} ${url}`);
    }
  });

  it('let a route that serves something else replace the CSP and keep the rest', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/own-csp' });
    assert.equal(response.headers['content-security-policy'], "default-src 'none'; sandbox");
    assert.equal(response.headers['x-frame-options'], 'DENY');
  });

  it('are one shared frozen object: nothing a request does can change the next one', () => {
    const headers = securityHeaders();
    assert.ok(Object.isFrozen(headers));
  });
});
