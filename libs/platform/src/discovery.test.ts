import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { discoveryContract } from './discovery.contract.ts';
import { StaticDiscovery, type ServiceInstance, type ServiceRegistration } from './discovery.ts';
import { DnsDiscovery, type ResolvedAddress } from './dns-discovery.ts';
import { EtcdDiscovery } from './etcd-discovery.ts';
import { etcdMissing, startEtcdTestServer } from './etcd-test-server.ts';

discoveryContract('static', async (initial) => {
  const discovery = new StaticDiscovery(Object.fromEntries(Object.entries(initial).map(([service, instances]) => [service, instances.map((instance) => instance.url)])));
  return { discovery, close: async () => undefined };
});

// DNS: the resolver is the port's outside edge (a cluster's DNS server); the records it answers
// with are what the test changes.
discoveryContract('dns', async (initial) => {
  const records = new Map<string, ResolvedAddress[]>();
  const ports = new Map<string, number>();
  const set = (instances: Readonly<Record<string, readonly ServiceInstance[]>>) => {
    records.clear();
    for (const [service, list] of Object.entries(instances)) {
      records.set(`${service}.carshare.svc`, list.map((instance) => ({ address: new URL(instance.url).hostname, ttl: 0 })));
      ports.set(service, Number(new URL(list[0]!.url).port));
    }
  };
  set(initial);
  const services = Object.fromEntries(['user', 'car', 'payment'].map((service) => [service, { host: `${service}.carshare.svc`, port: ports.get(service) ?? 4001 }]));
  const discovery = await DnsDiscovery.start({ services, resolve: async (host) => records.get(host) ?? [], minRefreshMs: 50 });
  return {
    discovery,
    change: async (instances) => set(instances),
    close: () => discovery.close(),
  };
});

describe('DnsDiscovery', () => {
  it('keeps the last good answer while lookups fail, and recovers', async () => {
    let failing = false;
    const warnings: string[] = [];
    const discovery = await DnsDiscovery.start({
      services: { user: { host: 'user.carshare.svc', port: 4001 } },
      resolve: async () => {
        if (failing) throw Object.assign(new Error('queryA ESERVFAIL user.carshare.svc'), { code: 'ESERVFAIL' });
        return [{ address: '10.0.0.7', ttl: 0 }];
      },
      minRefreshMs: 20,
      onWarning: (message) => warnings.push(message),
    });
    try {
      failing = true;
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(discovery.endpointsOf('user'), ['http://10.0.0.7:4001']);
      assert.ok(warnings.length > 0, 'a failed lookup is reported');
    } finally {
      await discovery.close();
    }
  });

  it('brackets IPv6 addresses in URLs', async () => {
    const discovery = await DnsDiscovery.start({ services: { user: { host: 'user', port: 4001 } }, resolve: async () => [{ address: 'fd00::7', ttl: 30 }] });
    assert.deepEqual(discovery.endpointsOf('user'), ['http://[fd00::7]:4001']);
    await discovery.close();
  });
});

describe('etcd', { skip: etcdMissing }, () => {
  let etcd: { endpoint: string; close(): Promise<void> };
  let endpoint: string;

  before(async () => {
    etcd = await startEtcdTestServer();
    endpoint = etcd.endpoint;
  });

  after(async () => {
    await etcd?.close();
  });

  discoveryContract('etcd', async (initial) => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const discovery = await EtcdDiscovery.connect({ endpoints: [endpoint], prefix });
    // The other instances announce themselves through a client of their own.
    const others = await EtcdDiscovery.connect({ endpoints: [endpoint], prefix });
    const registered = new Map<string, ServiceRegistration>();
    const change = async (instances: Readonly<Record<string, readonly ServiceInstance[]>>) => {
      const wanted = new Map<string, { service: string; instance: ServiceInstance }>(Object.entries(instances).flatMap(([service, list]) => list.map((instance) => [`${service} ${instance.url}`, { service, instance }] as const)));
      for (const [id, registration] of registered) {
        if (!wanted.has(id)) {
          await registration.close();
          registered.delete(id);
        }
      }
      for (const [id, { service, instance }] of wanted) {
        if (!registered.has(id)) registered.set(id, await others.register(service, instance));
      }
    };
    await change(initial);
    return {
      discovery,
      change,
      close: async () => {
        await others.close();
        await discovery.close();
      },
    };
  });

  it('an instance that dies without withdrawing leaves when its lease runs out', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const discovery = await EtcdDiscovery.connect({ endpoints: [endpoint], prefix });
    const { Etcd3 } = await import('etcd3');
    // What a SIGKILLed instance leaves behind: a key under a lease nobody renews any more.
    const crashed = new Etcd3({ hosts: endpoint });
    const lease = crashed.lease(2, { autoKeepAlive: false });
    await lease.put(`${prefix}user/crashed`).value(JSON.stringify({ url: 'http://10.9.9.9:4001' }));
    try {
      const started = Date.now();
      const seen = Date.now() + 2_000;
      while (Date.now() < seen) {
        try {
          discovery.endpointsOf('user');
          break;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
      assert.deepEqual(discovery.endpointsOf('user'), ['http://10.9.9.9:4001']);
      crashed.close();
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        try {
          discovery.endpointsOf('user');
        } catch (error) {
          assert.equal((error as { reason?: string }).reason, 'SERVICE_NOT_DISCOVERED');
          assert.ok(Date.now() - started < 10_000);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.fail('the crashed instance was still listed after 10 s');
    } finally {
      await discovery.close();
    }
  });

  it('through an etcd outage an instance retries its registration with pauses, and is listed again once etcd is back', async () => {
    // Its own member, which this test takes down: the others share the one above.
    const own = await startEtcdTestServer();
    const prefix = `carshare-test-${randomUUID()}/`;
    const attempts: string[] = [];
    const registrant = await EtcdDiscovery.connect({
      endpoints: [own.endpoint],
      prefix,
      onWarning: (message) => {
        if (message.startsWith('etcd lease lost') || message.startsWith('etcd registration failed')) attempts.push(message);
      },
    });
    let observer: EtcdDiscovery | undefined;
    try {
      await registrant.register('user', { url: 'http://10.0.0.4:4001' }, { ttlSeconds: 2 });
      await own.stop();
      // The loss shows once keep-alives have failed for a TTL; from then on, attempts are counted.
      const lossDeadline = Date.now() + 15_000;
      while (attempts.length === 0) {
        if (Date.now() > lossDeadline) assert.fail('the lease was not reported lost within 15 s of the outage');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const before = attempts.length;
      const windowEnds = Date.now() + 4_000;
      while (Date.now() < windowEnds) await new Promise((resolve) => setTimeout(resolve, 100));
      // Pauses of 0.25 s doubling to 5 s allow a handful; the busy loop this guards against made ~100,000.
      const during = attempts.length - before;
      assert.ok(during <= 12, `${during} registration attempts in 4 s of outage`);
      await own.start();
      observer = await EtcdDiscovery.connect({ endpoints: [own.endpoint], prefix });
      const deadline = Date.now() + 20_000;
      for (;;) {
        const listed = (() => {
          try {
            return (observer as EtcdDiscovery).endpointsOf('user');
          } catch {
            return [];
          }
        })();
        if (listed.includes('http://10.0.0.4:4001')) break;
        if (Date.now() > deadline) assert.fail('the instance was not registered again within 20 s of etcd coming back');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await observer?.close();
      await registrant.close();
      await own.close();
    }
  });

  it('a registration stays while its instance lives, beyond the lease TTL (keep-alive)', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const discovery = await EtcdDiscovery.connect({ endpoints: [endpoint], prefix });
    try {
      await discovery.register('user', { url: 'http://10.0.0.3:4001', zone: 'a', version: '1.2.3' }, { ttlSeconds: 2 });
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      assert.deepEqual(
        discovery.instancesOf('user').map(({ id, ...instance }) => (assert.ok(id), instance)),
        [{ url: 'http://10.0.0.3:4001', zone: 'a', version: '1.2.3' }],
      );
    } finally {
      await discovery.close();
    }
  });
});
