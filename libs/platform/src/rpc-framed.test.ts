import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import type { CallContext } from './call-context.ts';
import { StaticDiscovery } from './discovery.ts';
import { AppError } from './errors.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createRpcClient } from './rpc-client.ts';
import type { FramedRpcConnectionOptions } from './rpc-framed-connection.ts';
import { HttpRpcTransport } from './rpc-http-transport.ts';
import { encodeCall, framedRpcPath, framedRpcProtocol } from './rpc-frames.ts';
import { registerRpcService } from './rpc-server.ts';
import { laptopServiceKeys, ServiceIdentitySigner } from './rpc-service-identity.ts';

// What only the framed wire can do or get wrong; what every transport must do is the contract
// suite's (rpc.test.ts runs it on this wire too).

const callers = ['caller'];
const wireRpc = defineRpcService('wire', {
  Echo: { callers, summary: 'echo', input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }), idempotent: true, errors: [] },
  Held: { callers, summary: 'answers when the test lets it', input: Type.Object({ key: Type.String() }), output: Type.Object({ key: Type.String() }), idempotent: false, errors: [] },
});

const serverObservability = createObservability({ service: 'wire', logLevel: 'silent', prettyLogs: false, sampleRatio: 1, processMetrics: false });
const observability = createObservability({ service: 'caller', logLevel: 'silent', prettyLogs: false, sampleRatio: 1, processMetrics: false });

function portOf(server: HttpServer): number {
  const address = server.server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

function context(budgetMs = 3_000) {
  return createBackgroundContext(observability, 'test', { budgetMs });
}

function rejectsWith(code: string, reason?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `an AppError, not ${String(error)}`);
    assert.equal(error.code, code);
    if (reason) assert.equal(error.reason, reason);
    return true;
  };
}

/** A callee whose `Held` calls wait until `release(key)`; counts the HTTP requests and upgraded sockets it saw. */
async function startCallee(options: { rpc?: boolean } = {}) {
  const held = new Map<string, () => void>();
  const server = createHttpServer({ observability: serverObservability, errorStyle: 'rpc' });
  const seen = { httpRequests: 0, upgraded: [] as Socket[] };
  server.addHook('onRequest', (_request, _reply, done) => {
    seen.httpRequests++;
    done();
  });
  const handlers = {
    Echo: async ({ text }: { text: string }) => ({ text }),
    Held: ({ key }: { key: string }) => new Promise<{ key: string }>((resolve) => held.set(key, () => resolve({ key }))),
  };
  if (options.rpc === false) {
    // An older callee: the same routes, no framed acceptor.
    server.post('/rpc/wire/Echo', async (request) => ({ text: (request.body as { text: string }).text }));
  } else {
    registerRpcService(server, wireRpc, handlers, { observability: serverObservability });
    server.server.on('upgrade', (_request, socket: Socket) => seen.upgraded.push(socket));
  }
  await server.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${portOf(server)}`;
  return {
    server,
    url,
    seen,
    held,
    release(key: string) {
      held.get(key)?.();
    },
    /** A client whose framed connection is open (or known refused) before its first call. */
    async client(framed?: FramedRpcConnectionOptions) {
      const transport = new HttpRpcTransport('wire', { discovery: new StaticDiscovery({ wire: [url] }), tracing: observability.tracing, wire: 'framed', framed });
      await transport.connect();
      return createRpcClient(wireRpc, { observability, transport });
    },
  };
}

/** Turns the event loop until `condition` holds; a guard, not a clock: a condition that never comes fails the test. */
async function until(condition: () => boolean): Promise<void> {
  const givingUp = performance.now() + 5_000;
  while (!condition()) {
    if (performance.now() > givingUp) throw new Error(`still not so after 5 s: ${condition.toString()}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('rpc over the framed wire (ADR 0029)', () => {
  let callee: Awaited<ReturnType<typeof startCallee>>;

  beforeEach(async () => {
    callee = await startCallee();
  });

  after(async () => {
    await serverObservability.shutdown();
  });

  /** Runs `work` with a client of this test's callee (connected first unless told) and a context; closes all three after. */
  async function withClient(
    work: (client: Awaited<ReturnType<typeof callee.client>>, ctx: ReturnType<typeof context>) => Promise<void>,
    options: { connected?: boolean; budgetMs?: number; framed?: FramedRpcConnectionOptions } = {},
  ): Promise<void> {
    const client =
      options.connected === false ? createRpcClient(wireRpc, { observability, discovery: new StaticDiscovery({ wire: [callee.url] }), wire: 'framed' }) : await callee.client(options.framed);
    const ctx = context(options.budgetMs);
    try {
      await work(client, ctx);
    } finally {
      ctx.dispose();
      await client.close();
      await callee.server.close();
    }
  }

  it('carries every call on one upgraded connection, not as HTTP requests', () =>
    withClient(async (client, ctx) => {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => client.Echo({ text: `t${index}` }, ctx)));
      assert.deepEqual(answers.map((answer) => answer.text), Array.from({ length: 8 }, (_, index) => `t${index}`));
      assert.equal(callee.seen.upgraded.length, 1, 'one connection');
      assert.equal(callee.seen.httpRequests, 0, 'no call went as an HTTP request');
    }));

  it('answers calls in any order: a held call does not hold back the ones after it', () =>
    withClient(async (client, ctx) => {
      const held = client.Held({ key: 'slow' }, ctx);
      await until(() => callee.held.has('slow'));
      assert.deepEqual(await client.Echo({ text: 'fast' }, ctx), { text: 'fast' });
      callee.release('slow');
      assert.deepEqual(await held, { key: 'slow' });
    }));

  it('gives up on the calls whose signal aborted, at once, and drops their answers when they come', () =>
    withClient(
      async (client, background) => {
        const controller = new AbortController();
        // The caller's context with a signal the test aborts long before the deadline.
        const cancelled: CallContext = { requestId: 'r-cancel', deadline: background.deadline, signal: controller.signal, span: background.span, log: background.log, caller: undefined };
        const abandoned = Promise.all([client.Held({ key: 'a' }, cancelled), client.Held({ key: 'b' }, cancelled)]);
        const kept = client.Held({ key: 'c' }, background);
        await until(() => callee.held.size === 3);
        controller.abort();
        await assert.rejects(abandoned, rejectsWith('DEADLINE_EXCEEDED'));
        callee.release('a');
        callee.release('b');
        callee.release('c');
        assert.deepEqual(await kept, { key: 'c' }, 'the other call on the connection is unaffected');
        assert.deepEqual(await client.Echo({ text: 'after' }, background), { text: 'after' });
        assert.equal(callee.seen.upgraded.length, 1, 'on the same connection');
      },
      { budgetMs: 30_000 },
    ));

  it('fails the calls on a connection the callee dropped as UNAVAILABLE, and opens a new one for the next call', () =>
    withClient(async (client, ctx) => {
      const held = client.Held({ key: 'dropped' }, ctx);
      await until(() => callee.held.has('dropped'));
      for (const socket of callee.seen.upgraded) socket.destroy();
      await assert.rejects(held, rejectsWith('UNAVAILABLE', 'DOWNSTREAM_UNAVAILABLE'));
      // Over HTTP while the new connection opens, then on it.
      assert.deepEqual(await client.Echo({ text: 'again' }, ctx), { text: 'again' });
      await until(() => callee.seen.upgraded.length === 2);
      const before = callee.seen.httpRequests;
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.deepEqual(await client.Echo({ text: 'framed again' }, ctx), { text: 'framed again' });
      assert.equal(callee.seen.httpRequests, before, 'on the new connection');
    }));

  it('closes a connection that answered nothing while a call ran out of time, and opens another', () =>
    withClient(
      async (client, ctx) => {
        assert.deepEqual(await client.Echo({ text: 'before' }, ctx), { text: 'before' });
        // The callee stops reading (a stuck peer or path): nothing comes back on the connection.
        for (const socket of callee.seen.upgraded) socket.pause();
        const short = createBackgroundContext(observability, 'test', { budgetMs: 100 });
        try {
          await assert.rejects(client.Echo({ text: 'lost' }, short), rejectsWith('DEADLINE_EXCEEDED'));
        } finally {
          short.dispose();
        }
        assert.deepEqual(await client.Echo({ text: 'over HTTP meanwhile' }, ctx), { text: 'over HTTP meanwhile' });
        await until(() => callee.seen.upgraded.length === 2);
      },
      // Any silence counts here: the default (1 s) keeps a slow callee's connection.
      { framed: { stuckAfterSilenceMs: 0 } },
    ));

  it('calls over HTTP while its connection opens, then on it', () =>
    withClient(
      async (client, ctx) => {
        assert.deepEqual(await client.Echo({ text: 'first' }, ctx), { text: 'first' });
        assert.equal(callee.seen.httpRequests, 1, 'the first call did not wait for the handshake');
        await until(() => callee.seen.upgraded.length === 1);
        await new Promise((resolve) => setTimeout(resolve, 0));
        assert.deepEqual(await client.Echo({ text: 'second' }, ctx), { text: 'second' });
        assert.equal(callee.seen.httpRequests, 1, 'the second went on the connection');
      },
      { connected: false },
    ));

  it('calls over HTTP an endpoint that refuses the upgrade (an older version), every call', async () => {
    await callee.server.close();
    const older = await startCallee({ rpc: false });
    const client = await older.client();
    const ctx = context();
    try {
      assert.deepEqual(await client.Echo({ text: 'one' }, ctx), { text: 'one' });
      assert.deepEqual(await client.Echo({ text: 'two' }, ctx), { text: 'two' });
      // The refused upgrade (GET /rpc, answered 404) and then the two calls as HTTP requests.
      assert.equal(older.seen.httpRequests, 3);
    } finally {
      ctx.dispose();
      await client.close();
      await older.server.close();
    }
  });

  it('answers the calls in flight when the callee closes, refuses new ones with 503, then ends the connection', async () => {
    const client = await callee.client();
    const ctx = context();
    try {
      const inFlight = client.Held({ key: 'draining' }, ctx);
      await until(() => callee.held.has('draining'));
      const closed = callee.server.close();
      await assert.rejects(client.Echo({ text: 'late' }, ctx), rejectsWith('UNAVAILABLE', 'SERVER_CLOSING'));
      callee.release('draining');
      assert.deepEqual(await inFlight, { key: 'draining' });
      await closed;
      await assert.rejects(client.Echo({ text: 'after' }, ctx), rejectsWith('UNAVAILABLE', 'DOWNSTREAM_UNAVAILABLE'));
    } finally {
      ctx.dispose();
      await client.close();
    }
  });

  describe('a peer that breaks the protocol', () => {
    async function upgradedSocket(): Promise<{ socket: Socket; received: Buffer[]; closed: Promise<void> }> {
      const socket = connect(Number(new URL(callee.url).port), '127.0.0.1');
      const received: Buffer[] = [];
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.write(`GET ${framedRpcPath} HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: ${framedRpcProtocol}\r\n\r\n`);
      await until(() => Buffer.concat(received).includes('\r\n\r\n'));
      assert.match(Buffer.concat(received).toString('latin1'), /^HTTP\/1\.1 101 /);
      received.length = 0;
      return { socket, received, closed };
    }

    it('answers a call whose meta is not one with 400 BAD_FRAME and keeps the connection', async () => {
      const { socket, received } = await upgradedSocket();
      try {
        socket.write(encodeCall(7, '{"not":"an array"}', '{}'));
        await until(() => Buffer.concat(received).length >= 10);
        const answer = Buffer.concat(received);
        assert.equal(answer.readUInt32BE(4), 7, 'the answer names the call');
        assert.equal(answer.readUInt16BE(8), 400);
        assert.match(answer.subarray(10).toString(), /"reason":"BAD_FRAME"/);
        received.length = 0;
        const identity = new ServiceIdentitySigner('caller', laptopServiceKeys()).identityFor('wire', undefined);
        socket.write(encodeCall(8, JSON.stringify(['wire', 'Echo', 1_000, 'r-1', null, identity]), '{"text":"still here"}'));
        await until(() => Buffer.concat(received).length >= 10 && Buffer.concat(received).length >= 4 + Buffer.concat(received).readUInt32BE(0));
        assert.equal(Buffer.concat(received).readUInt16BE(8), 200);
        assert.match(Buffer.concat(received).subarray(10).toString(), /still here/);
      } finally {
        socket.destroy();
        await callee.server.close();
      }
    });

    it('drops a connection that announces a frame over the body limit, before buffering it, and serves the others', async () => {
      const { socket, closed } = await upgradedSocket();
      const client = await callee.client();
      const ctx = context();
      try {
        const header = Buffer.alloc(4);
        header.writeUInt32BE(0xffff_fff0, 0);
        socket.write(header);
        await closed;
        assert.deepEqual(await client.Echo({ text: 'unaffected' }, ctx), { text: 'unaffected' });
      } finally {
        ctx.dispose();
        socket.destroy();
        await client.close();
        await callee.server.close();
      }
    });
  });
});

describe('rpc over the framed wire: a server with short HTTP timeouts', () => {
  let server: HttpServer;

  before(async () => {
    server = createHttpServer({
      observability: serverObservability,
      errorStyle: 'rpc',
      timeouts: { headersTimeoutMs: 1_000, requestTimeoutMs: 1_000, connectionTimeoutMs: 1_000, timeoutCheckIntervalMs: 1_000 },
    });
    registerRpcService(server, wireRpc, { Echo: async ({ text }) => ({ text }), Held: async ({ key }) => ({ key }) }, { observability: serverObservability });
    await server.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await server.close();
  });

  it('keeps the upgraded connection open: a request timeout is for HTTP requests', async () => {
    const upgraded: Socket[] = [];
    server.server.on('upgrade', (_request, socket: Socket) => upgraded.push(socket));
    const transport = new HttpRpcTransport('wire', { discovery: new StaticDiscovery({ wire: [`http://127.0.0.1:${portOf(server)}`] }), tracing: observability.tracing, wire: 'framed' });
    await transport.connect();
    const client = createRpcClient(wireRpc, { observability, transport });
    const ctx = context(5_000);
    try {
      await client.Echo({ text: 'first' }, ctx);
      assert.equal(upgraded.length, 1);
      assert.equal((upgraded[0] as Socket).timeout ?? 0, 0, 'no idle timeout on the upgraded socket');
    } finally {
      ctx.dispose();
      await client.close();
    }
  });
});
