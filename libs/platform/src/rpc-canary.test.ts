import assert from 'node:assert/strict';
import { it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import type { Discovery, ServiceInstance } from './discovery.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createRpcClient } from './rpc-client.ts';
import type { CanaryWeight } from './rpc-http-transport.ts';
import { registerRpcService } from './rpc-server.ts';

const whoRpc = defineRpcService('who', {
  Who: { callers: ['caller'], summary: 'which instance answered', input: Type.Object({}), output: Type.Object({ version: Type.String() }), idempotent: true, errors: [] },
});

async function instance(version: string, observability: ReturnType<typeof createObservability>): Promise<{ server: HttpServer; url: string }> {
  const server = createHttpServer({ observability, errorStyle: 'rpc' });
  registerRpcService(server, whoRpc, { Who: async () => ({ version }) }, { observability });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}` };
}

it('a canary weight of 10 % sends 10 ± 3 % of 2,000 calls to the canary version, whatever the instance counts (issue 17)', async () => {
  const observability = createObservability({ service: 'caller', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
  // Three stable instances and one canary: plain round-robin would send it 25 %.
  const started = await Promise.all(['1.0.0', '1.0.0', '1.0.0', '1.1.0'].map((version) => instance(version, observability)));
  const instances: ServiceInstance[] = started.map(({ url }, index) => ({ url, version: index === 3 ? '1.1.0' : '1.0.0' }));
  const urls = instances.map(({ url }) => url);
  const discovery: Discovery = { endpointsOf: () => urls, instancesOf: () => instances };
  let canary: CanaryWeight | undefined = { version: '1.1.0', percent: 10 };
  const client = createRpcClient(whoRpc, { discovery, observability, canary: () => canary });
  const ctx = createBackgroundContext(observability, 'test', { budgetMs: 60_000 });
  try {
    const answered = new Map<string, number>();
    for (let call = 0; call < 2_000; call++) {
      const { version } = await client.Who({}, ctx);
      answered.set(version, (answered.get(version) ?? 0) + 1);
    }
    const share = (answered.get('1.1.0') ?? 0) / 2_000;
    assert.ok(share >= 0.07 && share <= 0.13, `canary share ${share}`);
    // Weight 0: no split, the canary is one instance among four again (plain round-robin).
    canary = { version: '1.1.0', percent: 0 };
    const before = answered.get('1.1.0') ?? 0;
    for (let call = 0; call < 100; call++) {
      const { version } = await client.Who({}, ctx);
      answered.set(version, (answered.get(version) ?? 0) + 1);
    }
    const unweighted = (answered.get('1.1.0') ?? 0) - before;
    assert.ok(unweighted >= 20 && unweighted <= 30, `without a weight the canary is one instance among four (${unweighted} of 100)`);
    canary = undefined;
  } finally {
    ctx.dispose();
    await client.close();
    await Promise.all(started.map(({ server }) => server.close()));
  }
});
