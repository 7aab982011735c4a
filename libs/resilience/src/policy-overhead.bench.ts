import { Registry } from 'prom-client';
import { createDownstreamPolicy } from './downstream-policy.ts';

export interface PolicyOverhead {
  iterations: number;
  /** ns per awaited no-op call, no policy. */
  bareNsPerCall: number;
  /** ns per awaited no-op call through deadline check → retry → bulkhead → breaker. */
  fullStackNsPerCall: number;
  /** fullStack − bare: what the stack adds to every call. Goal < 2000 ns. */
  overheadNsPerCall: number;
}

async function timeLoop(iterations: number, run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await run();
  return Number(process.hrtime.bigint() - start) / iterations;
}

/**
 * Sequential awaited calls, as an RPC client makes them per request. Each variant is warmed up
 * first and the faster of two timed runs is kept, which damps GC and JIT noise on a busy box.
 */
export async function measurePolicyOverhead(iterations = 200_000): Promise<PolicyOverhead> {
  const noop = (): Promise<number> => Promise.resolve(1);
  const policy = createDownstreamPolicy('bench', {}, { registry: new Registry() });
  const options = { idempotent: true, signal: new AbortController().signal, deadline: Number.MAX_SAFE_INTEGER };
  const bare = () => noop();
  const full = () => policy.execute(noop, options);
  const warmup = Math.min(iterations, 20_000);
  await timeLoop(warmup, bare);
  await timeLoop(warmup, full);
  const bareNsPerCall = Math.min(await timeLoop(iterations, bare), await timeLoop(iterations, bare));
  const fullStackNsPerCall = Math.min(await timeLoop(iterations, full), await timeLoop(iterations, full));
  return { iterations, bareNsPerCall, fullStackNsPerCall, overheadNsPerCall: fullStackNsPerCall - bareNsPerCall };
}
