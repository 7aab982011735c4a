import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdConfigSource, silentLogger } from '@carshare/platform';
import { etcdMissing, freePort, runCommand, spawnService, startEtcdServer, type EtcdServer, type SpawnedService } from '@carshare/testing';
import { cliBundleCommand } from './support/cli-bundle.ts';

// Central config (issue 17 acceptance 2, ADR 0024): two gateway processes take their rate limits
// and fault switches from etcd; a change reaches both within 1 s, and an invalid value is
// refused by both with a log line while they keep answering as before.
describe('central config through etcd between processes', { skip: etcdMissing, timeout: 120_000 }, () => {
  let etcd: EtcdServer;
  let writer: EtcdConfigSource;
  let dataDir: string;
  const gatewayUrls: string[] = [];
  const gateways: SpawnedService[] = [];
  const services: SpawnedService[] = [];
  const prefix = `carshare-e2e-${randomUUID()}/`;
  const configPrefix = `${prefix}config/`;
  const anonymousDefault = { algorithm: 'gcra', limit: 120, windowMs: 60_000, burst: 60 } as const;
  const operator = { email: `ops-${randomUUID()}@example.com`, password: 'copper lantern 64' };

  // No broker, no server database, no static URLs, no config file from the shell: only etcd.
  const baseEnv = (): Record<string, string | undefined> => ({
    DATABASE_URL: undefined,
    AMQP_URL: undefined,
    MQTT_URL: undefined,
    REDIS_URL: undefined,
    USER_URL: undefined,
    CARSHARE_CONFIG: undefined,
    ETCD_ENDPOINTS: etcd.endpoint,
    ETCD_PREFIX: `${prefix}services/`,
    ETCD_CONFIG_PREFIX: configPrefix,
    LOG_LEVEL: 'warn',
  });

  /** The anonymous limit a gateway applies now, from the RateLimit-Policy header of any answer. */
  async function anonymousLimit(url: string): Promise<number> {
    const response = await fetch(`${url}/v1/config-probe`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    const policy = response.headers.get('ratelimit-policy') ?? '';
    const limit = /q=(\d+)/.exec(policy)?.[1];
    assert.ok(limit, `no RateLimit-Policy in the answer (${response.status}): ${policy}`);
    return Number(limit);
  }

  /** A login with a wrong password: 401 from the user service, or 503 when the fault switch fails the call. */
  async function loginStatus(url: string): Promise<number> {
    const response = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `nobody-${randomUUID()}@example.com`, password: 'wrong horse battery' }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** Polls every gateway until `check` holds on each, and returns how long the slowest one took. */
  async function reachesEveryGateway(check: (url: string) => Promise<void>, timeoutMs: number): Promise<number> {
    const started = performance.now();
    const took = await Promise.all(
      gatewayUrls.map(async (url) => {
        for (;;) {
          try {
            await check(url);
            return performance.now() - started;
          } catch (error) {
            if (performance.now() - started > timeoutMs) throw error;
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
        }
      }),
    );
    return Math.max(...took);
  }

  before(async () => {
    const command = await cliBundleCommand();
    const fromCommand = command ? { command } : {};
    etcd = await startEtcdServer();
    dataDir = mkdtempSync(join(tmpdir(), 'carshare-config-etcd-e2e-'));
    writer = await EtcdConfigSource.connect({ endpoints: [etcd.endpoint], prefix: configPrefix, service: 'gateway', logger: silentLogger });
    // All three at once: a gateway needs no user service to start (it finds one through etcd later).
    // The operator is created first, on the user service's PGlite, which one process holds at a time.
    const userPort = await freePort();
    const [, ...started] = await Promise.all([
      (async () => {
        const created = await runCommand({
          ...fromCommand,
          args: ['admin', 'create', '--email', operator.email, '--password', operator.password, '--name', 'Config Operator', '--role', 'operator'],
          env: { ...baseEnv(), CARSHARE_DATA_DIR: dataDir },
          timeoutMs: 120_000,
        });
        assert.equal(created.code, 0, `admin create failed:\n${created.stderr}`);
        const user = await spawnService({
          ...fromCommand,
          name: 'user',
          args: ['service', 'user'],
          env: { ...baseEnv(), USER_HOST: '127.0.0.1', USER_PORT: String(userPort), CARSHARE_DATA_DIR: dataDir },
          readyUrl: `http://127.0.0.1:${userPort}`,
          readyTimeoutMs: 60_000,
        });
        // Registered for `after` as soon as it runs: if a sibling fails to start, Promise.all
        // rejects before this one resolves, and an unregistered process would outlive the test.
        services.push(user);
        return user;
      })(),
      ...['gateway-a', 'gateway-b'].map(async (name) => {
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        const gateway = await spawnService({ ...fromCommand, name, args: ['service', 'gateway'], env: { ...baseEnv(), GATEWAY_HOST: '127.0.0.1', PORT: String(port) }, readyUrl: url, readyTimeoutMs: 60_000 });
        services.push(gateway);
        return { gateway, url };
      }),
    ]);
    for (const { gateway, url } of started) {
      gateways.push(gateway);
      gatewayUrls.push(url);
    }
    // Both gateways reach the user service through etcd discovery before anything is changed.
    await reachesEveryGateway(async (url) => assert.equal(await loginStatus(url), 401), 20_000);
  });

  after(async () => {
    await Promise.allSettled(services.map((service) => service.dispose()));
    await writer?.close();
    await etcd?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('a tighter rate limit put in etcd is applied by both gateways within 1 s, and its deletion brings the file value back', async () => {
    for (const url of gatewayUrls) assert.equal(await anonymousLimit(url), anonymousDefault.limit);
    await writer.put('rateLimits', { anonymousPerIp: { algorithm: 'gcra', limit: 90, windowMs: 60_000, burst: 45 } });
    const took = await reachesEveryGateway(async (url) => assert.equal(await anonymousLimit(url), 90), 5_000);
    assert.ok(took < 1_000, `the rate limit reached the last gateway after ${Math.round(took)} ms`);

    const { Etcd3 } = await import('etcd3');
    const raw = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      await raw.delete().key(`${configPrefix}gateway/rateLimits`);
    } finally {
      raw.close();
    }
    await reachesEveryGateway(async (url) => assert.equal(await anonymousLimit(url), anonymousDefault.limit), 5_000);
  });

  it('a fault switch put in etcd is turned on by both gateways within 1 s, and off again', async () => {
    await writer.put('faults', { 'rpc.error:user': { percent: 100 } });
    const took = await reachesEveryGateway(async (url) => assert.equal(await loginStatus(url), 503), 5_000);
    assert.ok(took < 1_000, `the fault switch reached the last gateway after ${Math.round(took)} ms`);

    await writer.put('faults', {});
    await reachesEveryGateway(async (url) => assert.equal(await loginStatus(url), 401), 5_000);
  });

  it('an invalid value is refused by both gateways with a log line naming the key, and they answer as before', async () => {
    await writer.put('rateLimits', { anonymousPerIp: { algorithm: 'gcra', limit: 80, windowMs: 60_000, burst: 40 } });
    await reachesEveryGateway(async (url) => assert.equal(await anonymousLimit(url), 80), 5_000);

    await writer.put('rateLimits', { anonymousPerIp: { algorithm: 'gcra', limit: 0, windowMs: 60_000 } });
    await writer.put('faults', { 'rpc.error:nowhere': { percent: 100 } });
    for (const gateway of gateways) {
      await gateway.waitForLine((line) => line.includes(`${configPrefix}gateway/rateLimits`) && line.includes('rejected'), 5_000);
      await gateway.waitForLine((line) => line.includes(`${configPrefix}gateway/faults`) && line.includes('no fault switch named rpc.error:nowhere'), 5_000);
    }
    for (const url of gatewayUrls) {
      assert.equal(await anonymousLimit(url), 80);
      assert.equal(await loginStatus(url), 401);
    }
  });

  it('an operator turning a fault switch on one gateway turns it on every gateway within 1 s (written to etcd), and off again from the other', async () => {
    const login = await fetch(`${gatewayUrls[0]}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(operator),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(login.status, 200, await login.clone().text());
    const token = ((await login.json()) as { tokens: { accessToken: string } }).tokens.accessToken;
    const admin = async (url: string, method: 'GET' | 'PUT', path: string, body?: unknown) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const switchOn = async (url: string, name: string): Promise<{ percent: number; updatedBy: string | null }> => {
      const listed = await admin(url, 'GET', '/v1/admin/faults');
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      const found = (listed.body['items'] as { name: string; percent: number; updatedBy: string | null }[]).find((item) => item.name === name);
      assert.ok(found, `${name} is not a switch of ${url}`);
      return found;
    };
    // A switch whose effect does not stop the operator's own calls (the role check asks the user service).
    const name = 'rpc.error:car';
    const [first, second] = gatewayUrls as [string, string];

    const turnedOn = await admin(first, 'PUT', `/v1/admin/faults/${name}`, { percent: 40 });
    assert.equal(turnedOn.status, 200, JSON.stringify(turnedOn.body));
    assert.equal(turnedOn.body['percent'], 40);
    assert.notEqual(turnedOn.body['updatedBy'], null, 'the gateway that took the change audits it with the operator');
    const took = await reachesEveryGateway(async (url) => assert.equal((await switchOn(url, name)).percent, 40), 5_000);
    assert.ok(took < 1_000, `the switch reached the last gateway after ${Math.round(took)} ms`);
    assert.equal((await switchOn(second, name)).updatedBy, 'central config (etcd)');

    const turnedOff = await admin(second, 'PUT', `/v1/admin/faults/${name}`, { percent: 0 });
    assert.equal(turnedOff.status, 200, JSON.stringify(turnedOff.body));
    await reachesEveryGateway(async (url) => assert.equal((await switchOn(url, name)).percent, 0), 1_000);

    // A switch no gateway has is refused before anything is written for all of them.
    const unknown = await admin(first, 'PUT', '/v1/admin/faults/rpc.error:nowhere', { percent: 10 });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    const stored = await writer.update('faults', (current) => current);
    assert.deepEqual(stored, {}, 'etcd holds the whole set of switches: none is on');
  });
});
