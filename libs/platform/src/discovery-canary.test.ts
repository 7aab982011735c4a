import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import { EtcdDiscovery } from './etcd-discovery.ts';
import { etcdMissing, startEtcdTestServer } from './etcd-test-server.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createRpcClient } from './rpc-client.ts';
import { registerRpcService } from './rpc-server.ts';

const whoRpc = defineRpcService('who', {
  Who: { callers: ['caller'], summary: 'which version answered', input: Type.Object({}), output: Type.Object({ version: Type.String() }), idempotent: true, errors: [] },
});

async function eventually(check: () => void, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

// Issue 17 acceptance 4: the canary weight is central config (`<config prefix>rollout/<service>`),
// the version label comes with each instance's etcd registration, and the balancer of every
// caller honours the weight live: no option, no restart.
describe('canary weight from central config, over etcd discovery', { skip: etcdMissing }, () => {
  let etcd: { endpoint: string; close(): Promise<void> };
  const observability = createObservability({ service: 'caller', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
  const servers: HttpServer[] = [];

  before(async () => {
    etcd = await startEtcdTestServer();
  });

  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await etcd?.close();
  });

  it('10 % in etcd sends 10 ± 3 % of 2,000 calls to the canary version; a new weight applies at once, an invalid one is refused with a warning, deleting it ends the canary', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const rolloutPrefix = `${prefix}config/rollout/`;
    // Three instances of 1.0.0 and one of 1.1.0, each announcing its version through a client of its own.
    const instances = await EtcdDiscovery.connect({ endpoints: [etcd.endpoint], prefix: `${prefix}services/` });
    for (const version of ['1.0.0', '1.0.0', '1.0.0', '1.1.0']) {
      const server = createHttpServer({ observability, errorStyle: 'rpc' });
      registerRpcService(server, whoRpc, { Who: async () => ({ version }) }, { observability });
      await server.listen({ host: '127.0.0.1', port: 0 });
      servers.push(server);
      await instances.register('who', { url: `http://127.0.0.1:${(server.server.address() as { port: number }).port}`, version });
    }
    const warnings: string[] = [];
    const discovery = await EtcdDiscovery.connect({ endpoints: [etcd.endpoint], prefix: `${prefix}services/`, rolloutPrefix, onWarning: (message) => warnings.push(message) });
    const client = createRpcClient(whoRpc, { discovery, observability });
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 120_000 });
    const { Etcd3 } = await import('etcd3');
    const operator = new Etcd3({ hosts: etcd.endpoint });
    const canaryShare = async (calls: number): Promise<number> => {
      let canary = 0;
      for (let call = 0; call < calls; call++) if ((await client.Who({}, ctx)).version === '1.1.0') canary++;
      return canary / calls;
    };
    try {
      await eventually(() => assert.equal(discovery.endpointsOf('who').length, 4));
      // No rollout: the canary is one instance among four.
      const unweighted = await canaryShare(400);
      assert.ok(unweighted >= 0.2 && unweighted <= 0.3, `without a rollout the canary got ${unweighted}`);

      await operator.put(`${rolloutPrefix}who`).value(JSON.stringify({ canaryVersion: '1.1.0', canaryWeight: 10 }));
      await eventually(() => assert.equal(discovery.canaryOf('who')?.percent, 10));
      const tenPercent = await canaryShare(2_000);
      assert.ok(tenPercent >= 0.07 && tenPercent <= 0.13, `weight 10 %: the canary got ${tenPercent}`);

      await operator.put(`${rolloutPrefix}who`).value(JSON.stringify({ canaryVersion: '1.1.0', canaryWeight: 50 }));
      await eventually(() => assert.equal(discovery.canaryOf('who')?.percent, 50));
      const half = await canaryShare(400);
      assert.ok(half >= 0.45 && half <= 0.55, `weight 50 %: the canary got ${half}`);

      await operator.put(`${rolloutPrefix}who`).value(JSON.stringify({ canaryVersion: '1.1.0', canaryWeight: 150 }));
      await eventually(() => assert.ok(warnings.some((warning) => warning.includes(`rollout rejected for ${rolloutPrefix}who`) && warning.includes('canaryWeight'))));
      assert.deepEqual(discovery.canaryOf('who'), { version: '1.1.0', percent: 50 }, 'a refused value leaves the running weight');

      await operator.delete().key(`${rolloutPrefix}who`);
      await eventually(() => assert.equal(discovery.canaryOf('who'), undefined));
      const after = await canaryShare(400);
      assert.ok(after >= 0.2 && after <= 0.3, `after the rollout was deleted the canary got ${after}`);
    } finally {
      operator.close();
      ctx.dispose();
      await client.close();
      await discovery.close();
      await instances.close();
    }
  });
});
