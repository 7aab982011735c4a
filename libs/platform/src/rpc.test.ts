import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import type { Caller } from './call-context.ts';
import { StaticDiscovery } from './discovery.ts';
import { AppError, NotFound, Unauthenticated } from './errors.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createRpcClient } from './rpc-client.ts';
import { registerRpcService } from './rpc-server.ts';

const echoRpc = defineRpcService('echo', {
  Echo: {
    summary: 'echo',
    input: Type.Object({ text: Type.String({ maxLength: 20 }), times: Type.Integer({ minimum: 1, default: 1 }) }, { additionalProperties: false }),
    output: Type.Object({ text: Type.String(), budgetMs: Type.Number(), caller: Type.Union([Type.String(), Type.Null()]), traceparent: Type.Union([Type.String(), Type.Null()]) }),
    idempotent: true,
    errors: [],
  },
  Fail: {
    summary: 'always fails',
    input: Type.Object({}),
    output: Type.Object({}),
    idempotent: false,
    errors: ['THING_NOT_FOUND'],
  },
  Hang: {
    summary: 'answers only when its caller gives up',
    input: Type.Object({}),
    output: Type.Object({}),
    idempotent: false,
    errors: [],
  },
});

const truncatedRpc = defineRpcService('echo', {
  Truncated: { summary: 'answers 200 with half a body', input: Type.Object({}), output: Type.Object({ text: Type.String() }), idempotent: true, errors: [] },
});

const observability = createObservability({ service: 'echo', logLevel: 'silent', prettyLogs: false, sampleRatio: 1, processMetrics: false });
const riderCaller: Caller = { userId: 'u-1', role: 'rider', plan: 'free', token: 'good-token' };

describe('rpc over loopback HTTP', () => {
  let server: HttpServer;
  let client: ReturnType<typeof createRpcClient<typeof echoRpc.methods>>;
  let seenBudgets: number[] = [];

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'rpc' });
    registerRpcService(
      server,
      echoRpc,
      {
        Echo: async (input, ctx) => {
          seenBudgets.push(ctx.deadline - Date.now());
          return {
            text: input.text.repeat(input.times),
            budgetMs: ctx.deadline - Date.now(),
            caller: ctx.caller?.userId ?? null,
            traceparent: ctx.span.spanContext().traceId,
          };
        },
        Fail: async () => {
          throw NotFound('THING_NOT_FOUND', 'there is no thing', { thing: 42 });
        },
        Hang: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({}))),
      },
      {
        observability,
        authenticate: async (token) => {
          if (token !== riderCaller.token) throw Unauthenticated('INVALID_TOKEN', 'bad token');
          return riderCaller;
        },
      },
    );
    server.post('/rpc/echo/Truncated', async (_request, reply) => reply.type('application/json').send('{"text":"cut he'));
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    assert.ok(address && typeof address === 'object');
    client = createRpcClient(echoRpc, {
      discovery: new StaticDiscovery({ echo: [`http://127.0.0.1:${address.port}`] }),
      observability,
    });
  });

  after(async () => {
    await client.close();
    await server.close();
  });

  it('round-trips a typed call, applying schema defaults', async () => {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 5_000 });
    try {
      const answer = await client.Echo({ text: 'hi', times: 2 }, ctx);
      assert.equal(answer.text, 'hihi');
      const withDefault = await client.Echo({ text: 'once' } as never, ctx);
      assert.equal(withDefault.text, 'once');
    } finally {
      ctx.dispose();
    }
  });

  it('hands the caller’s remaining budget to the server, never more', async () => {
    seenBudgets = [];
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 3_000 });
    try {
      const answer = await client.Echo({ text: 'x', times: 1 }, ctx);
      assert.ok(answer.budgetMs <= 3_000 && answer.budgetMs > 2_000, `server saw ${answer.budgetMs} ms`);
    } finally {
      ctx.dispose();
    }
  });

  it('joins the server span to the caller’s trace', async () => {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 3_000 });
    try {
      const answer = await client.Echo({ text: 'x', times: 1 }, ctx);
      assert.equal(answer.traceparent, ctx.span.spanContext().traceId);
    } finally {
      ctx.dispose();
    }
  });

  it('forwards the end user’s token and the server turns it into a caller', async () => {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 3_000, caller: riderCaller });
    try {
      assert.equal((await client.Echo({ text: 'x', times: 1 }, ctx)).caller, 'u-1');
    } finally {
      ctx.dispose();
    }
    const forged = createBackgroundContext(observability, 'test', { budgetMs: 3_000, caller: { ...riderCaller, token: 'forged' } });
    try {
      await assert.rejects(client.Echo({ text: 'x', times: 1 }, forged), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'UNAUTHENTICATED');
        return true;
      });
    } finally {
      forged.dispose();
    }
  });

  it('carries a typed error across the wire with its code, reason and details', async () => {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 3_000 });
    try {
      await assert.rejects(client.Fail({}, ctx), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'NOT_FOUND');
        assert.equal(error.reason, 'THING_NOT_FOUND');
        assert.deepEqual(error.details, { thing: 42 });
        return true;
      });
    } finally {
      ctx.dispose();
    }
  });

  it('rejects unknown fields and wrong types as INVALID_ARGUMENT', async () => {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 3_000 });
    try {
      for (const bad of [{ text: 'x', times: 1, extra: true }, { text: 5, times: 1 }, { text: 'x', times: '2' }]) {
        await assert.rejects(client.Echo(bad as never, ctx), (error: unknown) => {
          assert.ok(error instanceof AppError);
          assert.equal(error.code, 'INVALID_ARGUMENT');
          return true;
        });
      }
    } finally {
      ctx.dispose();
    }
  });

  it('gives up with DEADLINE_EXCEEDED when the caller’s deadline passes', async () => {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 50 });
    try {
      await assert.rejects(client.Hang({}, ctx), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'DEADLINE_EXCEEDED');
        return true;
      });
    } finally {
      ctx.dispose();
    }
  });

  it('does not call at all when no budget is left', async () => {
    const ctx = createBackgroundContext(observability, 'test', { budgetMs: 0 });
    seenBudgets = [];
    try {
      await assert.rejects(client.Echo({ text: 'x', times: 1 }, ctx), /no time left/);
      assert.deepEqual(seenBudgets, []);
    } finally {
      ctx.dispose();
    }
  });

  it('treats a 200 with an unreadable body as a broken downstream, never as an answer', async () => {
    const address = server.server.address();
    assert.ok(address && typeof address === 'object');
    const truncated = createRpcClient(truncatedRpc, { discovery: new StaticDiscovery({ echo: [`http://127.0.0.1:${address.port}`] }), observability });
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
