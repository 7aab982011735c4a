import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { defineRpcService, type RpcMethods, type RpcServiceContract } from '@carshare/contracts';
import { createObservability, type Observability, type Span } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import type { Caller, CallContext } from './call-context.ts';
import type { CallPolicy } from './call-policy.ts';
import { AppError, NotFound, Unavailable } from './errors.ts';
import type { RpcClient } from './rpc-client.ts';
import type { RpcHandlers, RpcServerOptions } from './rpc-endpoint.ts';
import { laptopServiceKeys, newServiceKeyPair, ServiceIdentitySigner, serviceKeysFromSettings, type ServiceIdentitySource } from './rpc-service-identity.ts';

/** The service the suite's clients call as (their observability's name), let in by every echo method but one. */
const callerService = 'caller';
const callers = [callerService];

export const echoRpc = defineRpcService('echo', {
  Echo: {
    callers,
    summary: 'echo',
    input: Type.Object({ text: Type.String({ maxLength: 20 }), times: Type.Integer({ minimum: 1, default: 1 }) }, { additionalProperties: false }),
    output: Type.Object({
      text: Type.String(),
      budgetMs: Type.Number(),
      caller: Type.Union([Type.String(), Type.Null()]),
      traceId: Type.String(),
      requestId: Type.String(),
    }),
    idempotent: true,
    errors: [],
  },
  Keep: {
    callers,
    summary: 'answers with an object it keeps, plus a field the contract does not have',
    input: Type.Object({ tags: Type.Array(Type.String()) }),
    output: Type.Object({ tags: Type.Array(Type.String()) }),
    idempotent: true,
    errors: [],
  },
  Fail: {
    callers,
    summary: 'always fails with a typed error',
    input: Type.Object({}),
    output: Type.Object({}),
    idempotent: false,
    errors: ['THING_NOT_FOUND'],
  },
  Crash: {
    callers,
    summary: 'always fails with an untyped error',
    input: Type.Object({}),
    output: Type.Object({}),
    idempotent: false,
    errors: [],
  },
  Hang: {
    callers,
    summary: 'answers only when its caller gives up',
    input: Type.Object({}),
    output: Type.Object({}),
    idempotent: false,
    errors: [],
  },
  Ignore: {
    callers,
    summary: 'never answers, whatever the signal says',
    input: Type.Object({}),
    output: Type.Object({}),
    idempotent: false,
    errors: [],
  },
  FlakyRead: {
    callers,
    summary: 'fails once per key with UNAVAILABLE, then answers',
    input: Type.Object({ key: Type.String() }),
    output: Type.Object({ attempts: Type.Integer() }),
    idempotent: true,
    errors: [],
  },
  FlakyWrite: {
    callers,
    summary: 'the same, but not safe to repeat',
    input: Type.Object({ key: Type.String() }),
    output: Type.Object({ attempts: Type.Integer() }),
    idempotent: false,
    errors: [],
  },
  GatewayOnly: {
    summary: 'says nothing about its callers: the default, the gateway only',
    input: Type.Object({}),
    output: Type.Object({}),
    idempotent: true,
    errors: [],
  },
});

/** A method the server's contract does not have: a caller built against a newer contract. */
const newerEchoRpc = defineRpcService('echo', {
  Missing: { summary: 'not served', input: Type.Object({}), output: Type.Object({}), idempotent: true, errors: [] },
});

export const riderCaller: Caller = { userId: 'u-1', role: 'rider', plan: 'free', sessionId: 's-1' };

/** What a transport adapter gives the suite: a served contract and a client of it over that transport. */
export interface RpcTransportHarness {
  connect<Methods extends RpcMethods>(
    contract: RpcServiceContract<Methods>,
    handlers: RpcHandlers<Methods>,
    options: { server: RpcServerOptions; client: { observability: Observability; policy?: CallPolicy }; newerContract?: RpcServiceContract },
  ): Promise<{
    client: RpcClient<Methods>;
    newerClient: RpcClient<RpcMethods>;
    /** Another client of the same server whose calls carry the identities `identity` makes. */
    clientWith(identity: ServiceIdentitySource): RpcClient<Methods>;
    close(): Promise<void>;
  }>;
}

class LogLines extends Writable {
  readonly lines: { msg?: string; level?: string; requestId?: string; traceId?: string; err?: { message?: string } }[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as LogLines['lines'][number]);
    done();
  }
}

interface SpanRecord {
  name: string;
  span: Span;
  traceparent?: string | undefined;
}

/** The module's observability with its span starts recorded: spans are not exported without an endpoint, ids still are made. */
function recordingObservability(service: string, logs: LogLines, starts: { server: SpanRecord[]; client: SpanRecord[] }): Observability {
  const observability = createObservability({ service, logLevel: 'error', prettyLogs: false, sampleRatio: 1, processMetrics: false, logDestination: logs });
  const { tracing } = observability;
  return {
    ...observability,
    tracing: {
      ...tracing,
      startServerSpan(name, traceparent, attributes) {
        const span = tracing.startServerSpan(name, traceparent, attributes);
        starts.server.push({ name, span, traceparent });
        return span;
      },
      startServerSpanUnder(name, parent, attributes) {
        const span = tracing.startServerSpanUnder(name, parent, attributes);
        starts.server.push({ name, span, traceparent: tracing.traceparentOf(parent) });
        return span;
      },
      startClientSpan(name, parent, attributes) {
        const span = tracing.startClientSpan(name, parent, attributes);
        starts.client.push({ name, span });
        return span;
      },
    },
  };
}

/** Retries once, idempotent methods only: the shape of the downstream policy, without its timing. */
const retryOncePolicy: CallPolicy = {
  async execute(call, options) {
    try {
      return await call(options.signal);
    } catch (error) {
      if (!options.idempotent) throw error;
      return call(options.signal);
    }
  },
};

async function metricCount(observability: Observability, name: string, labels: Record<string, string>): Promise<number> {
  const metric = observability.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((value) => (value as { metricName?: string }).metricName === `${name}_count` && Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0);
}

async function counterTotal(observability: Observability, name: string): Promise<number> {
  const metric = observability.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  return (await metric.get()).values.reduce((sum, value) => sum + value.value, 0);
}

function rejectsWith(code: string, reason?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (reason !== undefined) assert.equal(error.reason, reason);
    return true;
  };
}

/**
 * What every RPC transport must do, whether the call crosses a socket or not (DESIGN rules 3, 4,
 * 6, 8, 9): the same validation errors, deadlines, error mapping, authentication, tracing,
 * metrics on both sides and retries. Run by rpc.test.ts over loopback HTTP and in process.
 */
export function rpcTransportContract(name: string, harness: RpcTransportHarness): void {
  describe(`rpc transport contract: ${name}`, () => {
    const serverLogs = new LogLines();
    const spans = { server: [] as SpanRecord[], client: [] as SpanRecord[] };
    const serverObservability = recordingObservability('echo', serverLogs, spans);
    const clientObservability = recordingObservability(callerService, new LogLines(), spans);
    const handled: { method: string; ctx: CallContext; input: unknown }[] = [];
    const kept = { tags: ['kept'], secret: 'never leaves' };
    let keptInput: { tags: string[] } | undefined;
    const failDetails = { thing: 42, nested: { list: [1] } };
    const failures = new Map<string, number>();
    let connection:
      | { client: RpcClient<typeof echoRpc.methods>; newerClient: RpcClient<RpcMethods>; clientWith(identity: ServiceIdentitySource): RpcClient<typeof echoRpc.methods>; close(): Promise<void> }
      | undefined;
    let client: RpcClient<typeof echoRpc.methods>;

    const flaky = async (input: { key: string }) => {
      const attempts = (failures.get(input.key) ?? 0) + 1;
      failures.set(input.key, attempts);
      if (attempts === 1) throw Unavailable('FLAKY', 'first attempt fails');
      return { attempts };
    };

    before(async () => {
      connection = await harness.connect(
        echoRpc,
        {
          Echo: async (input, ctx) => {
            handled.push({ method: 'Echo', ctx, input });
            return {
              text: input.text.repeat(input.times),
              budgetMs: ctx.deadline - Date.now(),
              caller: ctx.caller?.userId ?? null,
              traceId: ctx.span.spanContext().traceId,
              requestId: ctx.requestId,
            };
          },
          Keep: async (input) => {
            keptInput = input;
            kept.tags.push(...input.tags);
            return kept;
          },
          Fail: async () => {
            throw NotFound('THING_NOT_FOUND', 'there is no thing', failDetails);
          },
          Crash: async (_input, ctx) => {
            ctx.log.warn('about to crash');
            throw new TypeError('cannot read properties of undefined');
          },
          Hang: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({}))),
          Ignore: () => new Promise(() => undefined),
          FlakyRead: flaky,
          FlakyWrite: flaky,
          GatewayOnly: async (_input, ctx) => {
            handled.push({ method: 'GatewayOnly', ctx, input: {} });
            return {};
          },
        },
        {
          server: { observability: serverObservability },
          client: { observability: clientObservability, policy: retryOncePolicy },
          newerContract: newerEchoRpc,
        },
      );
      client = connection.client;
    });

    after(async () => {
      await connection?.close();
    });

    async function withContext<T>(options: { budgetMs?: number; caller?: Caller }, work: (ctx: CallContext) => Promise<T>): Promise<T> {
      const ctx = createBackgroundContext(clientObservability, 'test', { budgetMs: options.budgetMs ?? 3_000, caller: options.caller });
      try {
        return await work(ctx);
      } finally {
        ctx.dispose();
      }
    }

    it('round-trips a typed call, applying the input schema’s defaults', async () => {
      await withContext({}, async (ctx) => {
        assert.equal((await client.Echo({ text: 'hi', times: 2 }, ctx)).text, 'hihi');
        assert.equal((await client.Echo({ text: 'once' } as never, ctx)).text, 'once');
      });
    });

    it('hands the caller’s remaining budget and request id to the handler, never more budget', async () => {
      await withContext({ budgetMs: 3_000 }, async (ctx) => {
        const answer = await client.Echo({ text: 'x', times: 1 }, ctx);
        assert.ok(answer.budgetMs <= 3_000 && answer.budgetMs > 2_000, `server saw ${answer.budgetMs} ms`);
        assert.equal(answer.requestId, ctx.requestId);
      });
    });

    describe('validation', () => {
      it('refuses unknown fields, wrong types and broken rules with one VALIDATION_FAILED shape, before the handler', async () => {
        const before = handled.length;
        await withContext({}, async (ctx) => {
          for (const [bad, path] of [
            [{ text: 'x', times: 1, extra: true }, '/'],
            [{ text: 5, times: 1 }, '/text'],
            [{ text: 'x', times: '2' }, '/times'],
            [{ text: 'x'.repeat(21), times: 1 }, '/text'],
          ] as const) {
            await assert.rejects(client.Echo(bad as never, ctx), (error: unknown) => {
              rejectsWith('INVALID_ARGUMENT', 'VALIDATION_FAILED')(error);
              const { message, details } = error as AppError;
              assert.equal(message, 'invalid body');
              assert.equal(details['part'], 'body');
              const problems = details['problems'] as { path: string; message: string }[];
              assert.ok(problems.some((problem) => problem.path === path && problem.message.length > 0), JSON.stringify(problems));
              return true;
            });
          }
        });
        assert.equal(handled.length, before, 'no handler ran');
      });

      it('refuses a body over the server’s limit, the NUL character and deep nesting as the wire does', async () => {
        await withContext({}, async (ctx) => {
          await assert.rejects(client.Echo({ text: 'x'.repeat(70 * 1024), times: 1 }, ctx), rejectsWith('INVALID_ARGUMENT', 'PAYLOAD_TOO_LARGE'));
          await assert.rejects(client.Echo({ text: 'a\u0000b', times: 1 }, ctx), rejectsWith('INVALID_ARGUMENT', 'INVALID_CHARACTER'));
          // Refused before the schema could say the field is unknown: nesting is the door's rule.
          const deep = JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) as unknown;
          await assert.rejects(client.Echo({ text: 'x', times: 1, deep } as never, ctx), rejectsWith('INVALID_ARGUMENT', 'JSON_TOO_DEEP'));
        });
      });

      it('answers a method the server does not have as NOT_FOUND', async () => {
        await withContext({}, async (ctx) => {
          await assert.rejects((connection?.newerClient['Missing'] as RpcClient<RpcMethods>[string])({}, ctx), rejectsWith('NOT_FOUND', 'ROUTE_NOT_FOUND'));
        });
      });
    });

    describe('answers', () => {
      it('serialises the answer by the output schema: fields it lacks never reach the caller, who shares no object with the callee', async () => {
        await withContext({}, async (ctx) => {
          const input = { tags: ['a'] };
          const answer = await client.Keep(input, ctx);
          assert.deepEqual(answer, { tags: ['kept', 'a'] });
          assert.equal('secret' in answer, false);
          answer.tags.push('changed by the caller');
          input.tags.push('changed after the call');
          assert.deepEqual(keptInput, { tags: ['a'] }, 'the callee’s input is its own');
          assert.deepEqual(kept.tags, ['kept', 'a'], 'the callee’s answer is its own');
          kept.tags.push('changed by the callee');
          assert.deepEqual(answer.tags, ['kept', 'a', 'changed by the caller'], 'the caller’s answer is its own');
          kept.tags.splice(0, kept.tags.length, 'kept');
        });
      });
    });

    describe('deadlines', () => {
      it('does not call at all when no budget is left', async () => {
        const before = handled.length;
        await withContext({ budgetMs: 0 }, async (ctx) => {
          await assert.rejects(client.Echo({ text: 'x', times: 1 }, ctx), (error: unknown) => {
            rejectsWith('DEADLINE_EXCEEDED')(error);
            assert.match((error as Error).message, /no time left/);
            return true;
          });
        });
        assert.equal(handled.length, before);
      });

      it('gives up with DEADLINE_EXCEEDED when the deadline passes during the call, and the handler’s signal aborts', async () => {
        await withContext({ budgetMs: 60 }, async (ctx) => {
          const started = Date.now();
          await assert.rejects(client.Hang({}, ctx), rejectsWith('DEADLINE_EXCEEDED'));
          assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
        });
      });

      it('answers the caller at its deadline even when the handler ignores the signal', async () => {
        await withContext({ budgetMs: 60 }, async (ctx) => {
          const started = Date.now();
          await assert.rejects(client.Ignore({}, ctx), rejectsWith('DEADLINE_EXCEEDED'));
          assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
        });
      });
    });

    describe('a server that caps budgets', () => {
      it('gives the handler no more than the server’s maximum, and answers DEADLINE_EXCEEDED when it runs out', async () => {
        const capped = await harness.connect(
          echoRpc,
          {
            ...Object.fromEntries(Object.keys(echoRpc.methods).map((method) => [method, async () => ({})])),
            Echo: async (input, ctx) => ({ text: input.text, budgetMs: ctx.deadline - Date.now(), caller: null, traceId: '', requestId: ctx.requestId }),
            Hang: (_input, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({}))),
          } as RpcHandlers<typeof echoRpc.methods>,
          { server: { observability: serverObservability, maxDeadlineMs: 100 }, client: { observability: clientObservability } },
        );
        try {
          await withContext({ budgetMs: 3_000 }, async (ctx) => {
            const answer = await capped.client.Echo({ text: 'x', times: 1 }, ctx);
            assert.ok(answer.budgetMs <= 100, `server saw ${answer.budgetMs} ms`);
            const started = Date.now();
            await assert.rejects(capped.client.Hang({}, ctx), (error: unknown) => {
              rejectsWith('DEADLINE_EXCEEDED')(error);
              assert.match((error as Error).message, /ran out of time/, 'the server answered, not the caller’s deadline');
              return true;
            });
            assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
          });
        } finally {
          await capped.close();
        }
      });
    });

    describe('errors', () => {
      it('carries a typed error with its code, reason, message and details, as the caller’s own copy', async () => {
        await withContext({}, async (ctx) => {
          await assert.rejects(client.Fail({}, ctx), (error: unknown) => {
            rejectsWith('NOT_FOUND', 'THING_NOT_FOUND')(error);
            const appError = error as AppError;
            assert.equal(appError.message, 'there is no thing');
            assert.deepEqual(appError.details, { thing: 42, nested: { list: [1] } });
            (appError.details['nested'] as { list: number[] }).list.push(2);
            return true;
          });
          assert.deepEqual(failDetails, { thing: 42, nested: { list: [1] } }, 'the callee’s details are its own');
        });
      });

      it('turns an untyped error into INTERNAL for the caller, counted and logged once by the callee with its request id', async () => {
        const countBefore = await counterTotal(serverObservability, 'carshare_unhandled_errors_total');
        const linesBefore = serverLogs.lines.length;
        await withContext({}, async (ctx) => {
          await assert.rejects(client.Crash({}, ctx), (error: unknown) => {
            rejectsWith('INTERNAL', 'INTERNAL')(error);
            assert.doesNotMatch((error as Error).message, /cannot read/, 'the cause stays with the callee');
            return true;
          });
          assert.equal(await counterTotal(serverObservability, 'carshare_unhandled_errors_total'), countBefore + 1);
          const logged = serverLogs.lines.slice(linesBefore).filter((line) => line.msg === 'unhandled error');
          assert.equal(logged.length, 1);
          assert.equal(logged[0]?.err?.message, 'cannot read properties of undefined');
          assert.equal(logged[0]?.requestId, ctx.requestId);
          assert.equal(logged[0]?.traceId, ctx.span.spanContext().traceId);
        });
      });
    });

    describe('service identity (ADR 0012)', () => {
      const laptop = laptopServiceKeys();
      const echoIdentity = (caller: Caller | undefined) => new ServiceIdentitySigner(callerService, laptop).identityFor('echo', caller);
      function clientWith(identityFor: (caller: Caller | undefined) => string): RpcClient<typeof echoRpc.methods> {
        return (connection as NonNullable<typeof connection>).clientWith({ identityFor: (_audience, caller) => identityFor(caller) }) as RpcClient<typeof echoRpc.methods>;
      }

      async function refused(identityFor: (caller: Caller | undefined) => string, code: string, reason: string): Promise<void> {
        const before = handled.length;
        await withContext({ caller: riderCaller }, async (ctx) => {
          await assert.rejects(clientWith(identityFor).Echo({ text: 'x', times: 1 }, ctx), rejectsWith(code, reason));
        });
        assert.equal(handled.length, before, 'no handler ran');
      }

      it('hands the handler the end user the calling service signed for, and none for a call of its own', async () => {
        await withContext({ caller: riderCaller }, async (ctx) => {
          assert.equal((await client.Echo({ text: 'x', times: 1 }, ctx)).caller, 'u-1');
          const seen = handled.at(-1)?.ctx.caller;
          assert.deepEqual({ ...seen }, { userId: 'u-1', role: 'rider', plan: 'free', sessionId: 's-1' }, 'id, role, plan and session, no token');
        });
        await withContext({}, async (ctx) => {
          assert.equal((await client.Echo({ text: 'x', times: 1 }, ctx)).caller, null, 'the service itself, no end user');
        });
      });

      it('refuses a call that carries no identity', async () => {
        await refused(() => '', 'UNAUTHENTICATED', 'SERVICE_IDENTITY_REQUIRED');
      });

      it('refuses an identity signed with a key that is not the calling service’s', async () => {
        const forger = serviceKeysFromSettings({ service: callerService, privateKey: newServiceKeyPair().privateKey, publicKeys: '' });
        await refused((caller) => new ServiceIdentitySigner(callerService, forger).identityFor('echo', caller), 'UNAUTHENTICATED', 'SERVICE_IDENTITY_INVALID');
      });

      it('refuses a genuine identity whose end user was changed', async () => {
        await refused((caller) => echoIdentity(caller).replace('.rider.', '.admin.'), 'UNAUTHENTICATED', 'SERVICE_IDENTITY_INVALID');
      });

      it('refuses an expired identity, and one meant for another service', async () => {
        const twoMinutesAgo = () => Date.now() - 120_000;
        await refused((caller) => new ServiceIdentitySigner(callerService, laptop, twoMinutesAgo).identityFor('echo', caller), 'UNAUTHENTICATED', 'SERVICE_IDENTITY_EXPIRED');
        await refused((caller) => new ServiceIdentitySigner(callerService, laptop).identityFor('trip', caller), 'UNAUTHENTICATED', 'SERVICE_IDENTITY_INVALID');
      });

      it('refuses with PERMISSION_DENIED a genuine service the method does not list', async () => {
        await refused((caller) => new ServiceIdentitySigner('stranger', laptop).identityFor('echo', caller), 'PERMISSION_DENIED', 'CALLER_NOT_ALLOWED');
      });

      it('lets only the gateway call a method that names no callers', async () => {
        await withContext({ caller: riderCaller }, async (ctx) => {
          await assert.rejects(client.GatewayOnly({}, ctx), rejectsWith('PERMISSION_DENIED', 'CALLER_NOT_ALLOWED'));
          const before = handled.length;
          const asGateway = clientWith((caller) => new ServiceIdentitySigner('gateway', laptop).identityFor('echo', caller));
          assert.deepEqual(await asGateway.GatewayOnly({}, ctx), {});
          assert.equal(handled.length, before + 1);
        });
      });
    });

    describe('tracing', () => {
      it('starts the server span as a child of the client span, in the caller’s trace', async () => {
        await withContext({}, async (ctx) => {
          const clientBefore = spans.client.length;
          const serverBefore = spans.server.length;
          const answer = await client.Echo({ text: 'x', times: 1 }, ctx);
          const clientSpan = spans.client.slice(clientBefore).find((record) => record.name === 'rpc echo/Echo');
          const serverSpan = spans.server.slice(serverBefore).find((record) => record.name === 'POST /rpc/echo/Echo');
          assert.ok(clientSpan && serverSpan, 'one client and one server span');
          const parent = clientSpan.span.spanContext();
          assert.equal(serverSpan.traceparent?.split('-')[2], parent.spanId, 'the client span is the parent');
          assert.equal(serverSpan.span.spanContext().traceId, parent.traceId);
          assert.equal(answer.traceId, ctx.span.spanContext().traceId, 'the handler’s span is in the caller’s trace');
          assert.equal(handled.at(-1)?.ctx.span, serverSpan.span, 'the handler runs under the server span');
        });
      });
    });

    describe('metrics', () => {
      it('records the call on the client and on the server, by canonical code', async () => {
        const ok = { rpc_service: 'echo', rpc_method: 'Echo', rpc_response_status_code: 'OK' };
        const notFound = { rpc_service: 'echo', rpc_method: 'Fail', rpc_response_status_code: 'NOT_FOUND' };
        const before = {
          clientOk: await metricCount(clientObservability, 'rpc_client_duration_seconds', ok),
          serverOk: await metricCount(serverObservability, 'rpc_server_duration_seconds', ok),
          clientNotFound: await metricCount(clientObservability, 'rpc_client_duration_seconds', notFound),
          serverNotFound: await metricCount(serverObservability, 'rpc_server_duration_seconds', notFound),
        };
        await withContext({}, async (ctx) => {
          await client.Echo({ text: 'x', times: 1 }, ctx);
          await assert.rejects(client.Fail({}, ctx));
        });
        assert.equal(await metricCount(clientObservability, 'rpc_client_duration_seconds', ok), before.clientOk + 1);
        assert.equal(await metricCount(serverObservability, 'rpc_server_duration_seconds', ok), before.serverOk + 1);
        assert.equal(await metricCount(clientObservability, 'rpc_client_duration_seconds', notFound), before.clientNotFound + 1);
        assert.equal(await metricCount(serverObservability, 'rpc_server_duration_seconds', notFound), before.serverNotFound + 1);
      });
    });

    describe('retries', () => {
      it('retries an idempotent method through the client’s policy, and never one that is not', async () => {
        await withContext({}, async (ctx) => {
          assert.deepEqual(await client.FlakyRead({ key: `${name}-read` }, ctx), { attempts: 2 });
          await assert.rejects(client.FlakyWrite({ key: `${name}-write` }, ctx), rejectsWith('UNAVAILABLE', 'FLAKY'));
          assert.equal(failures.get(`${name}-write`), 1, 'the write ran once');
        });
      });
    });
  });
}
