import type { RpcInput, RpcMethods, RpcOutput, RpcServiceContract } from '@carshare/contracts';
import { SpanStatusCode, spanNames, type Observability } from '@carshare/observability';
import { Pool } from 'undici';
import type { CallContext } from './call-context.ts';
import { passThroughPolicy, type CallPolicy } from './call-policy.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Discovery } from './discovery.ts';
import { AppError, DeadlineExceeded, Unavailable, isCanonicalCode } from './errors.ts';
import { headerNames } from './headers.ts';
import { rpcPath } from './rpc-server.ts';

export type RpcClient<Methods extends RpcMethods> = {
  [Name in keyof Methods]: (input: RpcInput<Methods[Name]>, ctx: CallContext) => Promise<RpcOutput<Methods[Name]>>;
} & {
  /** Lower-case, so it can never clash with a PascalCase method name. */
  close(): Promise<void>;
};

export interface RpcClientOptions {
  discovery: Discovery;
  observability: Observability;
  clock?: Clock;
  /** Breaker, retry and bulkhead for this downstream; added when modules are composed. */
  policy?: CallPolicy;
  connectionsPerEndpoint?: number;
}

const badBody = Symbol('unreadable body');

interface WireError {
  error?: { code?: unknown; reason?: unknown; message?: unknown; details?: unknown };
}

function errorFromWire(downstream: string, status: number, payload: unknown): AppError {
  const wire = (payload ?? {}) as WireError;
  const code = wire.error?.code;
  if (isCanonicalCode(code)) {
    const reason = typeof wire.error?.reason === 'string' ? wire.error.reason : code;
    const message = typeof wire.error?.message === 'string' ? wire.error.message : `${downstream} failed`;
    const details = typeof wire.error?.details === 'object' && wire.error.details !== null ? (wire.error.details as Record<string, unknown>) : {};
    return new AppError(code, reason, message, details);
  }
  return Unavailable('DOWNSTREAM_BAD_RESPONSE', `${downstream} answered ${status} without an error body`, { downstream, status });
}

/**
 * A typed client for one service's contract over undici pools. Every call carries the caller's
 * remaining deadline, trace context, request id and end-user token; the caller's single
 * deadline timer (behind ctx.signal) is what cancels it, so no timer is created per call.
 */
export function createRpcClient<Methods extends RpcMethods>(
  contract: RpcServiceContract<Methods>,
  options: RpcClientOptions,
): RpcClient<Methods> {
  const downstream = contract.service;
  const clock = options.clock ?? systemClock;
  const policy = options.policy ?? passThroughPolicy;
  const { tracing, metrics } = options.observability;
  const pools = options.discovery
    .endpointsOf(downstream)
    .map((url) => new Pool(url, { connections: options.connectionsPerEndpoint ?? 32, keepAliveTimeout: 30_000 }));
  let nextPool = 0;

  async function send(method: string, input: unknown, ctx: CallContext, signal: AbortSignal): Promise<unknown> {
    const remaining = ctx.deadline - clock.now();
    if (remaining <= 0 || signal.aborted) {
      throw DeadlineExceeded('DEADLINE_EXCEEDED', `no time left to call ${downstream}.${method}`, { downstream, method });
    }
    const span = tracing.startClientSpan(spanNames.rpcClient(downstream, method), ctx.span, { 'rpc.service': downstream, 'rpc.method': method });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [headerNames.deadline]: String(remaining),
      [headerNames.requestId]: ctx.requestId,
    };
    const traceparent = tracing.traceparentOf(span);
    if (traceparent) headers[headerNames.traceparent] = traceparent;
    if (ctx.caller) headers[headerNames.authorization] = `Bearer ${ctx.caller.token}`;
    const pool = pools[nextPool++ % pools.length] as Pool;
    try {
      const response = await pool.request({
        path: rpcPath(downstream, method),
        method: 'POST',
        headers,
        body: JSON.stringify(input),
        signal,
      });
      const payload: unknown = await response.body.json().catch(() => badBody);
      if (response.statusCode === 200) {
        // A 200 whose body was cut or is not JSON is a broken downstream, not an answer: it must
        // count against the breaker and never reach a caller as `undefined`.
        if (payload === badBody) throw Unavailable('DOWNSTREAM_BAD_RESPONSE', `${downstream}.${method} sent an unreadable answer`, { downstream, method });
        return payload;
      }
      throw errorFromWire(downstream, response.statusCode, payload === badBody ? undefined : payload);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      if (error instanceof AppError) throw error;
      if (signal.aborted) {
        throw DeadlineExceeded('DEADLINE_EXCEEDED', `${downstream}.${method} did not answer in time`, { downstream, method });
      }
      throw Unavailable('DOWNSTREAM_UNAVAILABLE', `${downstream} cannot be reached`, { downstream, method, cause: (error as Error).message });
    } finally {
      span.end();
    }
  }

  const client: Record<string, unknown> = {
    close: async () => {
      await Promise.all(pools.map((pool) => pool.close()));
    },
  };
  for (const [method, definition] of Object.entries(contract.methods)) {
    client[method] = async (input: unknown, ctx: CallContext) => {
      const started = performance.now();
      let code = 'OK';
      try {
        return await policy.execute((signal) => send(method, input, ctx, signal), {
          idempotent: definition.idempotent,
          signal: ctx.signal,
          deadline: ctx.deadline,
        });
      } catch (error) {
        code = error instanceof AppError ? error.code : 'INTERNAL';
        throw error;
      } finally {
        metrics.rpcClientDuration.observe({ rpc_service: downstream, rpc_method: method, rpc_response_status_code: code }, (performance.now() - started) / 1000);
      }
    };
  }
  return client as RpcClient<Methods>;
}
