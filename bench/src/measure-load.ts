import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { gcBetween, sumGc, type GcTotals, type GcTrace } from './gc-trace.ts';
import { startCpuMeter, type CpuShares } from './process-cpu.ts';
import { runWrk, wrkInstalled } from './wrk.ts';

export type LoadGenerator = 'wrk' | 'autocannon';

/**
 * wrk when it is installed (`apt-get install -y wrk`: 2–3× less CPU per request than
 * autocannon, so more of this 2-core machine is left to the servers), autocannon otherwise;
 * `--loadgen wrk|autocannon` forces one.
 */
export function chooseLoadGenerator(flag: string | true | undefined): LoadGenerator {
  if (flag === 'autocannon') return 'autocannon';
  if (flag === 'wrk') {
    if (!wrkInstalled()) throw new Error('--loadgen wrk: no wrk on the PATH (apt-get install -y wrk)');
    return 'wrk';
  }
  if (flag !== undefined) throw new Error(`--loadgen must be wrk or autocannon, got ${String(flag)}`);
  return wrkInstalled() ? 'wrk' : 'autocannon';
}

export interface LoadTarget {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadSettings {
  durationSec: number;
  warmupSec: number;
  connections: number;
  /** The server's pid, to report how busy it was (is it, or the load generator, the bottleneck?). */
  serverPid?: number;
  /** Several server processes (a gateway and the service behind it): CPU is summed over them. Wins over serverPid. */
  serverPids?: readonly number[];
  /** GC traces of the server processes (`--trace-gc-nvp`), to count promoted bytes per request. */
  gcTraces?: readonly (GcTrace | undefined)[];
  /** Default: wrk when installed, else autocannon (see chooseLoadGenerator). */
  loadGenerator?: LoadGenerator;
  /** wrk's threads (default 1); autocannon ignores it. */
  threads?: number;
  /** Called around the measured run only (not the warm-up), e.g. to profile exactly that stretch. */
  measuredRun?: { before(): Promise<void>; after(): Promise<void> };
}

export interface LoadStats {
  requestsPerSec: number;
  requests: number;
  durationSec: number;
  /** In ms. autocannon: of 2xx answers, from our own samples (its histogram rounds to whole ms); wrk: of every answer, from its µs histogram. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Cores busy on average during the measured run (1.0 = one core). */
  cpu: CpuShares;
  /** Server CPU µs per answered request, summed over the server processes. */
  cpuMicrosPerRequest: number;
  /** The same for each server process, in the order of serverPids. */
  cpuMicrosPerRequestByProcess: number[];
  loadGenerator: LoadGenerator;
  /** GC of the server processes during the measured run, when traced: the sum and each process's. */
  gc?: GcStats;
}

export interface GcStats {
  total: GcTotals;
  byProcess: GcTotals[];
  /** Bytes promoted to old space per answered request, summed over the processes. */
  promotedBytesPerRequest: number;
  promotedBytesPerRequestByProcess: number[];
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
}

/** Grows by doubling, so recording a sample costs a store, not an allocation. */
class SampleBuffer {
  #samples = new Float64Array(1 << 16);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#length++] = value;
  }

  sorted(): Float64Array {
    return this.#samples.slice(0, this.#length).sort();
  }
}

/** Requests, duration, statuses and latency of one run, whichever generator made it. */
interface RunCounts {
  requests: number;
  durationSec: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: LoadStats['latencyMs'];
}

function latencyOf(sorted: Float64Array): LoadStats['latencyMs'] {
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    mean: sum / sorted.length,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

async function autocannonRun(target: LoadTarget, durationSec: number, connections: number, measured: boolean): Promise<RunCounts> {
  const options = { url: target.url, method: target.method ?? 'GET', headers: target.headers, body: target.body, connections, duration: durationSec };
  if (!measured) {
    const result = await autocannon(options);
    return { requests: result['2xx'] + result.non2xx, durationSec: result.duration, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, latencyMs: latencyOf(new Float64Array()) };
  }
  const latencies = new SampleBuffer();
  const run = autocannon(options);
  // Without a callback autocannon returns its tracker, an EventEmitter made thenable.
  const tracker = run as unknown as autocannon.Instance;
  tracker.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
  });
  const result = await run;
  return {
    requests: result['2xx'] + result.non2xx,
    durationSec: result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    // Of 2xx answers, from our own samples: autocannon's histogram rounds to whole ms.
    latencyMs: latencyOf(latencies.sorted()),
  };
}

async function loadRun(generator: LoadGenerator, target: LoadTarget, durationSec: number, connections: number, measured: boolean, threads?: number): Promise<RunCounts> {
  if (generator === 'autocannon') return autocannonRun(target, durationSec, connections, measured);
  return runWrk(target, { durationSec, connections, ...(threads !== undefined && { threads }) });
}

/**
 * A warm-up run (thrown away), then the measured run: req/s, latency percentiles, CPU of both
 * sides, and (with gcTraces) the servers' promoted bytes per request.
 */
export async function measureLoad(target: LoadTarget, settings: LoadSettings): Promise<LoadStats> {
  const generator = settings.loadGenerator ?? chooseLoadGenerator(undefined);
  if (settings.warmupSec > 0) await loadRun(generator, target, settings.warmupSec, settings.connections, false, settings.threads);

  await settings.measuredRun?.before();
  const pids = settings.serverPids ?? (settings.serverPid === undefined ? undefined : [settings.serverPid]);
  const traces = settings.gcTraces ?? [];
  const gcBefore = traces.map((trace) => trace?.snapshot());
  const meter = startCpuMeter(pids);
  const counts = await loadRun(generator, target, settings.durationSec, settings.connections, true, settings.threads);
  const cpu = meter.stop();
  // The children's last GC lines may still be in the pipe: a moment for them to arrive.
  if (traces.length > 0) await sleep(100);
  const gcAfter = traces.map((trace) => trace?.snapshot());
  await settings.measuredRun?.after();

  const perRequest = (share: number | undefined): number => (share === undefined ? Number.NaN : (share * cpu.wallSec * 1e6) / Math.max(1, counts.requests));
  let gc: GcStats | undefined;
  if (traces.length > 0 && traces.every((trace) => trace !== undefined)) {
    const byProcess = gcAfter.map((after, index) => gcBetween(gcBefore[index] as GcTotals, after as GcTotals));
    const total = sumGc(byProcess);
    const requests = Math.max(1, counts.requests);
    gc = {
      total,
      byProcess,
      promotedBytesPerRequest: total.promotedBytes / requests,
      promotedBytesPerRequestByProcess: byProcess.map((part) => part.promotedBytes / requests),
    };
  }
  return {
    requestsPerSec: counts.requests / counts.durationSec,
    requests: counts.requests,
    durationSec: counts.durationSec,
    latencyMs: counts.latencyMs,
    non2xx: counts.non2xx,
    errors: counts.errors,
    timeouts: counts.timeouts,
    cpu,
    cpuMicrosPerRequest: perRequest(cpu.server),
    cpuMicrosPerRequestByProcess: cpu.servers.map(perRequest),
    loadGenerator: generator,
    ...(gc && { gc }),
  };
}
