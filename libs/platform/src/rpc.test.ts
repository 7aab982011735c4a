import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineRpcService, type RpcMethods } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import { StaticDiscovery } from './discovery.ts';
import { AppError } from './errors.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createRpcClient, type RpcClient } from './rpc-client.ts';
import { HttpRpcTransport } from './rpc-http-transport.ts';
import { InProcessRpcHub, createRpcConnector } from './rpc-connector.ts';
import { registerRpcService } from './rpc-server.ts';
import { echoRpc, rpcTransportContract } from './rpc-transport.contract.ts';

function portOf(server: HttpServer): number {
  const address = server.server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

rpcTransportContract('loopback HTTP', {
  async connect(contract, handlers, options) {
    const server = createHttpServer({ observability: options.server.observability, errorStyle: 'rpc', maxDeadlineMs: options.server.maxDeadlineMs });
    registerRpcService(server, contract, handlers, options.server);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const discovery = new StaticDiscovery({ [contract.service]: [`http://127.0.0.1:${portOf(server)}`] });
    const client = createRpcClient(contract, { ...options.client, discovery });
    const newerClient = createRpcClient(options.newerContract ?? contract, { ...options.client, discovery }) as RpcClient<RpcMethods>;
    const others: { close(): Promise<void> }[] = [];
    return {
      client,
      newerClient,
      clientWith(identity) {
        const other = createRpcClient(contract, { ...options.client, discovery, identity });
        others.push(other);
        return other;
      },
      async close() {
        await client.close();
        await newerClient.close();
        await Promise.all(others.map((other) => other.close()));
        await server.close();
      },
    };
  },
});

rpcTransportContract('loopback framed connection', {
  async connect(contract, handlers, options) {
    const server = createHttpServer({ observability: options.server.observability, errorStyle: 'rpc', maxDeadlineMs: options.server.maxDeadlineMs });
    registerRpcService(server, contract, handlers, options.server);
    let httpCalls = 0;
    server.addHook('onRequest', (request, _reply, done) => {
      if (request.url.startsWith('/rpc/')) httpCalls++;
      done();
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const discovery = new StaticDiscovery({ [contract.service]: [`http://127.0.0.1:${portOf(server)}`] });
    // Connected before the first call: a transport sends its calls over HTTP while the upgrade runs.
    const transport = new HttpRpcTransport(contract.service, { discovery, tracing: options.client.observability.tracing, wire: 'framed' });
    await transport.connect();
    const client = createRpcClient(contract, { ...options.client, transport });
    const newerClient = createRpcClient(options.newerContract ?? contract, { ...options.client, transport }) as RpcClient<RpcMethods>;
    return {
      client,
      newerClient,
      clientWith: (identity) => createRpcClient(contract, { ...options.client, identity, transport }),
      async close() {
        await transport.close();
        await server.close();
        assert.equal(httpCalls, 0, 'every call went over the framed connection');
      },
    };
  },
});

rpcTransportContract('in process', {
  async connect(contract, handlers, options) {
    // The callee's server exists (its HTTP routes are mounted) but never listens: no socket is involved.
    const server = createHttpServer({ observability: options.server.observability, errorStyle: 'rpc', maxDeadlineMs: options.server.maxDeadlineMs });
    const hub = new InProcessRpcHub();
    createRpcConnector({ inProcess: hub }).serve(server, contract, handlers, options.server);
    const callers = createRpcConnector({ inProcess: hub });
    const client = callers.client(contract, options.client);
    const newerClient = callers.client(options.newerContract ?? contract, options.client) as RpcClient<RpcMethods>;
    return {
      client,
      newerClient,
      clientWith: (identity) => callers.client(contract, { ...options.client, identity }),
      async close() {
        await client.close();
        await server.close();
      },
    };
  },
});

const truncatedRpc = defineRpcService('echo', {
  Truncated: { summary: 'answers 200 with half a body', input: Type.Object({}), output: Type.Object({ text: Type.String() }), idempotent: true, errors: [] },
});

const observability = createObservability({ service: 'echo', logLevel: 'silent', prettyLogs: false, sampleRatio: 1, processMetrics: false });

describe('rpc over loopback HTTP: what only the wire can do', () => {
  let server: HttpServer;

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'rpc' });
    server.post('/rpc/echo/Truncated', async (_request, reply) => reply.type('application/json').send('{"text":"cut he'));
    await server.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await server.close();
  });

  it('treats a 200 with an unreadable body as a broken downstream, never as an answer', async () => {
    const truncated = createRpcClient(truncatedRpc, { discovery: new StaticDiscovery({ echo: [`http://127.0.0.1:${portOf(server)}`] }), observability });
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 3_000 });
    try {
      await assert.rejects(truncated.Truncated({}, ctx), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'UNAVAILABLE');
        assert.equal(error.reason, 'DOWNSTREAM_BAD_RESPONSE');
        return true;
      });
    } finally {
      ctx.dispose();
      await truncated.close();
    }
  });

  it('reports an unreachable downstream as UNAVAILABLE', async () => {
    const unreachable = createRpcClient(echoRpc, { discovery: new StaticDiscovery({ echo: ['http://127.0.0.1:1'] }), observability });
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 3_000 });
    try {
      await assert.rejects(unreachable.Echo({ text: 'x', times: 1 }, ctx), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'UNAVAILABLE');
        assert.equal(error.reason, 'DOWNSTREAM_UNAVAILABLE');
        return true;
      });
    } finally {
      ctx.dispose();
      await unreachable.close();
    }
  });
});

describe('rpc connector', () => {
  it('calls over HTTP a service this process does not serve, and refuses to serve one twice', () => {
    const hub = new InProcessRpcHub();
    const connector = createRpcConnector({ inProcess: hub, discovery: new StaticDiscovery({ echo: ['http://127.0.0.1:1'] }) });
    assert.equal(connector.transport, 'in-process');
    const server = createHttpServer({ observability, errorStyle: 'rpc' });
    const unserved = connector.client(echoRpc, { observability });
    void unserved.close();
    const handlers = Object.fromEntries(Object.keys(echoRpc.methods).map((name) => [name, async () => ({})])) as never;
    connector.serve(server, echoRpc, handlers, { observability });
    assert.deepEqual(hub.services(), ['echo']);
    assert.throws(() => connector.serve(createHttpServer({ observability, errorStyle: 'rpc' }), echoRpc, handlers, { observability }), /already served/);
    assert.throws(() => createRpcConnector().client(truncatedRpc, { observability }), /no discovery/);
  });
});
