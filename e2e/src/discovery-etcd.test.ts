import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EtcdDiscovery } from '@carshare/platform';
import { etcdMissing, freePort, spawnService, startEtcdServer, type EtcdServer, type SpawnedService } from '@carshare/testing';

// Processes of the distributed topology that find each other through etcd (issue 17): no URL of
// the user service is given to the gateway; the user process announces itself once it answers
// and withdraws first when it stops.
describe('discovery through etcd between processes', { skip: etcdMissing }, () => {
  let etcd: EtcdServer;
  let watcher: EtcdDiscovery;
  let dataDir: string;
  let gateway: SpawnedService;
  let gatewayUrl: string;
  const prefix = `carshare-e2e-${randomUUID()}/`;
  const services: SpawnedService[] = [];
  const rider = { email: `rider-${randomUUID()}@example.com`, password: 'copper meadow 73', displayName: 'Etcd Rider' };

  // No broker, no server database, no static URLs from the shell: only etcd says where things are.
  const baseEnv = (): Record<string, string | undefined> => ({
    DATABASE_URL: undefined,
    AMQP_URL: undefined,
    MQTT_URL: undefined,
    REDIS_URL: undefined,
    USER_URL: undefined,
    ETCD_ENDPOINTS: etcd.endpoint,
    ETCD_PREFIX: prefix,
    LOG_LEVEL: 'warn',
  });

  async function startUser(): Promise<SpawnedService> {
    const port = await freePort();
    const user = await spawnService({
      name: 'user',
      args: ['service', 'user'],
      env: { ...baseEnv(), USER_HOST: '127.0.0.1', USER_PORT: String(port), CARSHARE_DATA_DIR: dataDir },
      readyUrl: `http://127.0.0.1:${port}`,
      readyTimeoutMs: 60_000,
    });
    services.push(user);
    return user;
  }

  async function login(): Promise<number> {
    const response = await fetch(`${gatewayUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: rider.email, password: rider.password }),
      signal: AbortSignal.timeout(10_000),
    });
    return response.status;
  }

  async function eventually(check: () => Promise<void> | void, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await check();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  before(async () => {
    etcd = await startEtcdServer();
    dataDir = mkdtempSync(join(tmpdir(), 'carshare-etcd-e2e-'));
    watcher = await EtcdDiscovery.connect({ endpoints: [etcd.endpoint], prefix });
    await startUser();
    const port = await freePort();
    gatewayUrl = `http://127.0.0.1:${port}`;
    gateway = await spawnService({ name: 'gateway', args: ['service', 'gateway'], env: { ...baseEnv(), GATEWAY_HOST: '127.0.0.1', PORT: String(port) }, readyUrl: gatewayUrl, readyTimeoutMs: 60_000 });
    services.push(gateway);
  });

  after(async () => {
    await Promise.allSettled(services.map((service) => service.dispose()));
    await watcher?.close();
    await etcd?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the user service announces itself and the gateway reaches it with no URL configured', async () => {
    await eventually(() => assert.equal(watcher.instancesOf('user').length, 1), 5_000);
    const registered = await fetch(`${gatewayUrl}/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rider) });
    assert.equal(registered.status, 202, await registered.text());
    assert.equal(await login(), 200);
  });

  it('a stopped instance withdraws on SIGTERM instead of waiting out its lease (503 meanwhile, never a hang), and its successor is found', async () => {
    await services[0]!.dispose();
    // Revoked on SIGTERM, not left to expire with its lease (10 s): gone within the watch's delay.
    await eventually(() => assert.deepEqual(watcher.instancesOf('user'), []), 1_000);
    assert.equal(await login(), 503);
    await startUser();
    await eventually(async () => assert.equal(await login(), 200), 10_000);
  });
});
