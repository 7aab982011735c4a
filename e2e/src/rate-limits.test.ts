import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import { gatewayDescriptor } from '@carshare/gateway-service';
import { freePort, freePorts, spawnService, startFaultProxy, type FaultProxy, type SpawnedService } from '@carshare/testing';
import { createApiClient } from './support/api-client.ts';
import { assertError } from './support/error-shape.ts';
import { signUpAndLogIn } from './support/sign-up.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

const minute = 60_000;
const tightLimits = {
  enabled: true,
  anonymousPerIp: { algorithm: 'gcra', limit: 1_000, windowMs: minute, burst: 1_000 },
  plans: {
    free: { algorithm: 'gcra', limit: 5, windowMs: minute, burst: 5 },
    basic: { algorithm: 'sliding-window', limit: 8, windowMs: minute },
    premium: { algorithm: 'gcra', limit: 1_000, windowMs: minute, burst: 1_000 },
    unlimited: null,
  },
  routes: {
    login: { perIp: { algorithm: 'sliding-window', limit: 12, windowMs: minute }, perAccount: { algorithm: 'sliding-window', limit: 3, windowMs: 5 * minute } },
    register: { perIp: { algorithm: 'sliding-window', limit: 2, windowMs: 60 * minute } },
  },
  perDevice: { algorithm: 'gcra', limit: 60, windowMs: minute, burst: 10 },
};

async function login(api: TestPlatform['api'], email: string, password: string): Promise<string> {
  const response = await api.call('POST', '/v1/auth/login', { body: { email, password } });
  assert.equal(response.status, 200, response.text);
  return response.body.tokens.accessToken as string;
}

describe('rate limits at the gateway', () => {
  let test: TestPlatform;

  before(async () => {
    test = await startTestPlatform({ overrides: { gateway: { rateLimits: tightLimits } } });
    await seedDemoData(test.platform.module(userDescriptor).users);
  });
  after(() => test.close());

  it('holds a free rider to exactly 5 calls, with headers counting down, then 429 with Retry-After', async () => {
    const token = await login(test.api, demoAccounts.rider.email, demoAccounts.rider.password);
    const firstCallAt = performance.now();
    for (let call = 1; call <= 5; call += 1) {
      const response = await test.api.call('GET', '/v1/me', { token });
      assert.equal(response.status, 200, `call ${call}: ${response.text}`);
      assert.equal(response.headers.get('ratelimit-limit'), '5');
      assert.equal(response.headers.get('ratelimit-remaining'), String(5 - call));
      assert.equal(response.headers.get('x-ratelimit-remaining'), String(5 - call));
      assert.ok(Number(response.headers.get('ratelimit-reset')) > 0);
    }
    const denied = await test.api.call('GET', '/v1/me', { token });
    assertError(denied, 429, 'RATE_LIMITED');
    assert.equal(denied.headers.get('ratelimit-remaining'), '0');
    // GCRA frees one call every 60 s / 5 = 12 s after the first: less the time the calls took
    // (whole seconds of it on a loaded machine), never more.
    const elapsedS = (performance.now() - firstCallAt) / 1000;
    const retryAfter = Number(denied.headers.get('retry-after'));
    assert.ok(retryAfter <= 12 && retryAfter >= Math.floor(12 - elapsedS), `Retry-After ${retryAfter} s, ${elapsedS.toFixed(1)} s after the first call`);
  });

  it('gives the basic plan its own limit and operators none', async () => {
    const operator = await login(test.api, demoAccounts.operator.email, demoAccounts.operator.password);
    const signup = await signUpAndLogIn(test.api, { email: 'basic@example.com', password: 'plum tractor 42', displayName: 'Basic' });
    const upgraded = await test.api.call('PUT', `/v1/admin/users/${signup.user.id}/plan`, { token: operator, body: { plan: 'basic' } });
    assert.equal(upgraded.status, 200, upgraded.text);
    // A fresh login carries the new plan in its token.
    const token = await login(test.api, 'basic@example.com', 'plum tractor 42');
    const statuses: number[] = [];
    for (let call = 0; call < 9; call += 1) statuses.push((await test.api.call('GET', '/v1/me', { token })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 429]);
    for (let call = 0; call < 20; call += 1) {
      const response = await test.api.call('GET', '/v1/me', { token: operator });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('ratelimit-limit'), null);
    }
  });

  it('slows credential stuffing per targeted account: the 4th login at one account is 429, another account still answers', async () => {
    const attempts: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      attempts.push((await test.api.call('POST', '/v1/auth/login', { body: { email: 'Victim@Example.com', password: `guess ${attempt} wrong` } })).status);
    }
    assert.deepEqual(attempts, [401, 401, 401, 429]);
    const sameAccountOtherCase = await test.api.call('POST', '/v1/auth/login', { body: { email: 'victim@example.com ', password: 'guess again' } });
    assertError(sameAccountOtherCase, 429, 'RATE_LIMITED');
    const otherAccount = await test.api.call('POST', '/v1/auth/login', { body: { email: 'someone@example.com', password: 'guess wrong' } });
    assertError(otherAccount, 401, 'INVALID_CREDENTIALS');
  });

  it('limits sign-ups per IP', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 3; index += 1) {
      statuses.push((await test.api.call('POST', '/v1/auth/register', { body: { email: `flood${index}@example.com`, password: 'flood password', displayName: 'F' } })).status);
    }
    // basic@example.com used one of the two sign-ups of this IP above.
    assert.deepEqual(statuses, [202, 429, 429]);
  });

  it('applies changed limits at once, without a restart', async () => {
    const token = await login(test.api, demoAccounts.rider.email, demoAccounts.rider.password);
    assert.equal((await test.api.call('GET', '/v1/me', { token })).status, 429);
    const live = test.platform.module(gatewayDescriptor).rateLimits;
    const before = live.get();
    live.set({ ...before, plans: { ...before.plans, free: { algorithm: 'gcra', limit: 1_000, windowMs: minute, burst: 1_000 } } });
    try {
      const response = await test.api.call('GET', '/v1/me', { token });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('ratelimit-limit'), '1000');
    } finally {
      live.set(before);
    }
  });
});

describe('rate limits shared through Redis', { skip: process.env['REDIS_URL'] ? false : 'set REDIS_URL to run against a real Redis' }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carshare-ratelimit-'));
  const configFile = join(dataDir, 'gateway.json');
  const services: SpawnedService[] = [];
  let gatewayA: string;
  let gatewayB: string;
  const opsUrls: string[] = [];
  let token: string;
  let slowRedis: FaultProxy;

  before(async () => {
    // All at once: a gateway is ready before its operations port listens, so a port asked for
    // after it starts could be that one.
    const [userPort, ...gatewayPorts] = (await freePorts(5)) as [number, ...number[]];
    const run = `rl${process.pid}${Date.now()}`;
    // Counters live in the shared Redis for their whole window: a prefix per run keeps reruns apart.
    // The Redis timeout is the production 50 ms scaled for a loaded CI machine: this suite is about one
    // count shared by two instances; the fail-open on a slow Redis has its own test below.
    writeFileSync(configFile, JSON.stringify({ redis: { keyPrefix: `carshare-test:${run}:`, timeoutMs: 1_000 }, rateLimits: { ...tightLimits, anonymousPerIp: { algorithm: 'sliding-window', limit: 6, windowMs: minute } } }));
    const userUrl = `http://127.0.0.1:${userPort}`;
    // Only Redis is shared here: a broker from the environment would get queues under the production prefix.
    const common = { DATABASE_URL: undefined, AMQP_URL: undefined, MQTT_URL: undefined, LOG_LEVEL: 'warn', CARSHARE_DATA_DIR: join(dataDir, 'pg') };
    services.push(await spawnService({ name: 'user', args: ['service', 'user'], env: { ...common, USER_PORT: String(userPort) }, readyUrl: userUrl }));
    // Redis 100 ms away, as across a busy network: a gateway that served before its connection was
    // ready would be caught limiting on its own.
    const redisUrl = new URL(process.env['REDIS_URL'] as string);
    slowRedis = await startFaultProxy({ target: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) }, mode: { kind: 'latency', ms: 100 } });
    redisUrl.hostname = '127.0.0.1';
    redisUrl.port = String(slowRedis.port);
    for (const name of ['gateway-a', 'gateway-b']) {
      const [port, opsPort] = gatewayPorts.splice(0, 2) as [number, number];
      opsUrls.push(`http://127.0.0.1:${opsPort}`);
      services.push(
        await spawnService({
          name,
          args: ['service', 'gateway'],
          env: { ...common, PORT: String(port), GATEWAY_OPS_PORT: String(opsPort), USER_URL: userUrl, CARSHARE_CONFIG: configFile, REDIS_URL: redisUrl.href },
          readyUrl: `http://127.0.0.1:${port}`,
        }),
      );
    }
    gatewayA = services[1]?.url as string;
    gatewayB = services[2]?.url as string;
    const signup = await signUpAndLogIn(createApiClient(gatewayA), { email: `${run}@example.com`, password: 'shared password', displayName: 'S' });
    token = signup.tokens.accessToken;
  });

  after(async () => {
    await Promise.all(services.map((service) => service.dispose()));
    await slowRedis?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts calls through either gateway against one limit', async () => {
    const a = createApiClient(gatewayA);
    const b = createApiClient(gatewayB);
    const statuses: number[] = [];
    for (let call = 0; call < 5; call += 1) statuses.push((await (call % 2 === 0 ? a : b).call('GET', '/v1/me', { token })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assertError(await b.call('GET', '/v1/me', { token }), 429, 'RATE_LIMITED');
    assertError(await a.call('GET', '/v1/me', { token }), 429, 'RATE_LIMITED');
  });

  it('has every instance counting in Redis from its first request, never locally', async () => {
    // A gateway that served before its Redis connection was open limited those requests on its
    // own and reported the store degraded at every start.
    for (const opsUrl of opsUrls) {
      const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
      assert.doesNotMatch(metrics, /carshare_rate_limit_fallback_total\{[^}]*\} [1-9]/);
      assert.match(metrics, /carshare_rate_limit_store_degraded\{[^}]*\} 0/);
    }
  });
});

describe('rate limits when Redis goes away', () => {
  it('fails open to a local limiter, still limiting, and says so in a metric', async () => {
    // A proxy in front of a Redis that never answers: the store must not wait on it.
    const redisPort = await freePort();
    const proxy = await startFaultProxy({ target: { port: redisPort }, mode: { kind: 'reset' } });
    const test = await startTestPlatform({ overrides: { gateway: { rateLimits: tightLimits, 'redis.url': `redis://127.0.0.1:${proxy.port}` } } });
    try {
      await seedDemoData(test.platform.module(userDescriptor).users);
      const token = await login(test.api, demoAccounts.rider.email, demoAccounts.rider.password);
      const statuses: number[] = [];
      for (let call = 0; call < 6; call += 1) statuses.push((await test.api.call('GET', '/v1/me', { token })).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
      const metrics = await (await fetch(`${test.platform.module(gatewayDescriptor).opsUrl()}/metrics`)).text();
      assert.match(metrics, /carshare_rate_limit_fallback_total\{[^}]*\} [1-9]/);
      assert.match(metrics, /carshare_rate_limit_store_degraded\{[^}]*\} 1/);
    } finally {
      await test.close();
      await proxy.close();
    }
  });
});
