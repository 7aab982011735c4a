import assert from 'node:assert/strict';
import { it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import type { Discovery } from './discovery.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { HttpRpcTransport } from './rpc-http-transport.ts';
import { registerRpcService } from './rpc-server.ts';
import { laptopServiceKeys, ServiceIdentitySigner } from './rpc-service-identity.ts';
import type { RpcAttempts } from './rpc-transport.ts';

const whoRpc = defineRpcService('who', {
  Who: { callers: ['caller'], summary: 'which instance answered', input: Type.Object({}), output: Type.Object({ url: Type.String() }), idempotent: true, errors: [] },
});

// Issue 17: "retries of idempotent calls go to another endpoint".
it('an attempt after one that went to an endpoint goes to another endpoint, whatever the rotation says; a first attempt follows the rotation', async () => {
  const observability = createObservability({ service: 'caller', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
  const servers: HttpServer[] = [];
  const urls: string[] = [];
  for (let index = 0; index < 3; index++) {
    const server = createHttpServer({ observability, errorStyle: 'rpc' });
    let url = '';
    registerRpcService(server, whoRpc, { Who: async () => ({ url }) }, { observability });
    await server.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
    servers.push(server);
    urls.push(url);
  }
  const discovery: Discovery = { endpointsOf: () => urls };
  const transport = new HttpRpcTransport('who', { discovery, tracing: observability.tracing });
  const signer = new ServiceIdentitySigner('caller', laptopServiceKeys());
  const ctx = createBackgroundContext(observability, 'test', { budgetMs: 60_000 });
  const attempt = async (attempts?: RpcAttempts) => {
    const span = observability.tracing.startClientSpan('who.Who', undefined);
    try {
      return ((await transport.send('Who', {}, ctx, span, ctx.signal, 10_000, signer.identityFor('who', ctx.caller), attempts)) as { url: string }).url;
    } finally {
      span.end();
    }
  };
  try {
    const firsts: string[] = [];
    // Each endpoint in turn is the one the previous attempt went to: round-robin alone would come
    // back to it on every third call.
    for (let call = 0; call < 90; call++) {
      const previous = urls[call % urls.length] as string;
      const attempts: RpcAttempts = { lastEndpoint: previous };
      const answered = await attempt(attempts);
      assert.notEqual(answered, previous, `call ${call} went back to ${previous}`);
      assert.equal(attempts.lastEndpoint, answered);
      firsts.push(await attempt({ lastEndpoint: undefined }));
    }
    for (const url of urls) assert.ok(firsts.filter((answered) => answered === url).length >= 20, `first attempts spread over every endpoint: ${url}`);
  } finally {
    // Its 60 s deadline timer would otherwise hold the file open that long after the test.
    ctx.dispose();
    await transport.close();
    await Promise.all(servers.map((server) => server.close()));
  }
});
