/**
 * CPU µs per in-process RPC call, the embedded `/v1/me`'s hop: the real GetUser contract, client
 * (span, metric, signed identity), the gateway's downstream policy (retry, bulkhead, breaker,
 * fault switches), the in-process transport and the callee's endpoint (identity check,
 * validation, serialisation, span, metric), a stub handler answering a frozen user. One process,
 * no socket, so the number is the platform's own and steady to a few per cent on a busy machine
 * (CPU time of this thread, not wall time).
 *
 *   node --import tsx bench/src/gateway/in-process-call-cost.ts [--calls N (200000)] [--rounds N (5)] [--sample-ratio R (0.1)]
 */
import { setMaxListeners } from 'node:events';
import { userRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import type { Logger, Span } from '@carshare/observability';
import { createHttpServer, createRpcConnector, InProcessRpcHub, type Caller, type CallContext, type RpcHandlers } from '@carshare/platform';
import { createDownstreamPolicy, FaultRegistry, withInjectedFaults } from '@carshare/resilience';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] !== undefined ? (args[index + 1] as string) : fallback;
};
const calls = Number(flag('calls', '200000'));
const rounds = Number(flag('rounds', '5'));
const sampleRatio = Number(flag('sample-ratio', '0.1'));

const userId = '0193a1b2-0000-7000-8000-000000000001';
const wireUser = Object.freeze({
  id: userId,
  email: 'rider@carshare.local',
  displayName: 'Rider',
  role: 'rider' as const,
  plan: 'basic' as const,
  status: 'active' as const,
  emailVerified: true,
  createdAt: '2026-12-01T10:00:00.000Z',
});

// Spans go nowhere (an endpoint that is never reached within a run: export is batched, 1 s).
const otlpEndpoint = 'http://127.0.0.1:9';
const userObservability = createObservability({ service: 'user', logLevel: 'warn', prettyLogs: false, sampleRatio, otlpEndpoint, processMetrics: false });
const gatewayObservability = createObservability({ service: 'gateway', logLevel: 'warn', prettyLogs: false, sampleRatio, otlpEndpoint, processMetrics: false });
const hub = new InProcessRpcHub();
const server = createHttpServer({ observability: userObservability, errorStyle: 'rpc' });
const handlers = new Proxy({}, { get: () => async () => wireUser }) as RpcHandlers<typeof userRpc.methods>;
createRpcConnector({ inProcess: hub }).serve(server, userRpc, handlers, { observability: userObservability });
const faults = new FaultRegistry();
const policy = withInjectedFaults(createDownstreamPolicy('user', {}, { registry: gatewayObservability.metrics.registry }), faults, 'user');
const client = createRpcConnector({ inProcess: hub }).client(userRpc, { observability: gatewayObservability, policy });

const signal = new AbortController().signal;
// 16 calls in flight listen on it at once, as on a deadline slot's signal of a loaded gateway.
setMaxListeners(100, signal);
const caller: Caller = { userId, role: 'rider', plan: 'basic' };

/** What the gateway's request context gives a call: a root span per request (sampled at the ratio). */
class BenchContext implements CallContext {
  readonly requestId = 'bench';
  readonly deadline: number;
  readonly signal = signal;
  readonly span: Span;
  readonly log: Logger = gatewayObservability.logger;
  caller: Caller | undefined = caller;
  constructor() {
    this.deadline = Date.now() + 10_000;
    this.span = gatewayObservability.tracing.startServerSpan('GET /v1/me', undefined, { 'http.request.method': 'GET' });
  }
}

async function run(count: number): Promise<number> {
  const before = process.cpuUsage();
  // 16 calls in flight, as a loaded gateway has.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < count) await client.GetUser({ userId }, new BenchContext());
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

await run(Math.min(calls, 50_000));
const results: number[] = [];
for (let round = 0; round < rounds; round++) results.push(await run(calls));
results.sort((a, b) => a - b);
console.log(`in-process GetUser call: ${results.map((value) => value.toFixed(2)).join(' ')} µs CPU per call (median ${results[Math.floor(results.length / 2)]?.toFixed(2)})`);
// No shutdown: the OTLP endpoint is a closed port, and exporting the sampled spans would fail.
process.exit(0);
