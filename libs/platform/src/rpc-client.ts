import type { RpcInput, RpcMethods, RpcOutput, RpcServiceContract } from '@carshare/contracts';
import { SpanStatusCode, observerFor, spanNames, type Observability } from '@carshare/observability';
import type { CallContext } from './call-context.ts';
import { passThroughPolicy, type CallPolicy } from './call-policy.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Discovery } from './discovery.ts';
import { AppError, DeadlineExceeded, Unavailable } from './errors.ts';
import { HttpRpcTransport, type CanaryWeight } from './rpc-http-transport.ts';
import type { OutlierDetectionSettings } from './outlier-detector.ts';
import { laptopServiceKeys, ServiceIdentitySigner, type ServiceIdentitySource } from './rpc-service-identity.ts';
import type { RpcAttempts, RpcTransport } from './rpc-transport.ts';

export type RpcClient<Methods extends RpcMethods> = {
  [Name in keyof Methods]: (input: RpcInput<Methods[Name]>, ctx: CallContext) => Promise<RpcOutput<Methods[Name]>>;
} & {
  /** Lower-case, so it can never clash with a PascalCase method name. */
  close(): Promise<void>;
};

export interface RpcClientBaseOptions {
  observability: Observability;
  clock?: Clock;
  /** Breaker, retry and bulkhead for this downstream; added when modules are composed. */
  policy?: CallPolicy;
  /**
   * Signs who is calling (ADR 0012): this service, named by its observability, and the end user
   * of the context. The composition gives the connector's; the laptop keys when omitted.
   */
  identity?: ServiceIdentitySource;
}

/** Over HTTP to the endpoints discovery lists, or over a transport the composition chose. */
export type RpcClientOptions = RpcClientBaseOptions &
  (
    | {
        discovery: Discovery;
        connectionsPerEndpoint?: number;
        outlierDetection?: Partial<OutlierDetectionSettings>;
        canary?: (downstream: string) => CanaryWeight | undefined;
        /** Between processes: HTTP/1.1 requests (default) or the framed wire on the same ports (ADR 0029). */
        wire?: 'http' | 'framed';
      }
    | { transport: RpcTransport }
  );

/**
 * A typed client for one service's contract. Every call carries the caller's remaining deadline,
 * trace context, request id and this service's signed identity naming the end user (ADR 0012); the caller's single deadline timer (behind
 * ctx.signal) is what cancels it, so no timer is created per call. The transport only moves the
 * call: the deadline check, the policy (retry of idempotent methods, bulkhead, breaker, faults),
 * the client span, the client RED metric and the mapping of failures are the same on all of them.
 */
export function createRpcClient<Methods extends RpcMethods>(
  contract: RpcServiceContract<Methods>,
  options: RpcClientOptions,
): RpcClient<Methods> {
  const downstream = contract.service;
  const clock = options.clock ?? systemClock;
  const policy = options.policy ?? passThroughPolicy;
  const { tracing, metrics } = options.observability;
  const signer = options.identity ?? new ServiceIdentitySigner(options.observability.service, laptopServiceKeys());
  const transport =
    'transport' in options
      ? options.transport
      : new HttpRpcTransport(downstream, {
          discovery: options.discovery,
          tracing,
          connectionsPerEndpoint: options.connectionsPerEndpoint,
          outlierDetection: options.outlierDetection,
          canary: options.canary,
          wire: options.wire,
          now: () => clock.now(),
        });

  async function send(method: string, spanName: string, input: unknown, ctx: CallContext, signal: AbortSignal, attempts: RpcAttempts): Promise<unknown> {
    const remaining = ctx.deadline - clock.now();
    if (remaining <= 0 || signal.aborted) {
      throw DeadlineExceeded('DEADLINE_EXCEEDED', `no time left to call ${downstream}.${method}`, { downstream, method });
    }
    const span = tracing.startClientSpan(spanName, ctx.span, { 'rpc.service': downstream, 'rpc.method': method });
    try {
      return await transport.send(method, input, ctx, span, signal, remaining, signer.identityFor(downstream, ctx.caller), attempts);
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
    close: () => transport.close(),
  };
  for (const [method, definition] of Object.entries(contract.methods)) {
    // Most calls end OK: their series is observed without a label lookup (observerFor).
    const observeOk = observerFor(metrics.rpcClientDuration, { rpc_service: downstream, rpc_method: method, rpc_response_status_code: 'OK' });
    const spanName = spanNames.rpcClient(downstream, method);
    client[method] = async (input: unknown, ctx: CallContext) => {
      const started = performance.now();
      let code = 'OK';
      try {
        const attempts: RpcAttempts = { lastEndpoint: undefined };
        return await policy.execute((signal) => send(method, spanName, input, ctx, signal, attempts), {
          idempotent: definition.idempotent,
          signal: ctx.signal,
          deadline: ctx.deadline,
        });
      } catch (error) {
        code = error instanceof AppError ? error.code : 'INTERNAL';
        throw error;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        if (code === 'OK') observeOk(seconds);
        else metrics.rpcClientDuration.observe({ rpc_service: downstream, rpc_method: method, rpc_response_status_code: code }, seconds);
      }
    };
  }
  return client as RpcClient<Methods>;
}
