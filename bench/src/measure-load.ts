import autocannon from 'autocannon';
import { startCpuMeter, type CpuShares } from './process-cpu.ts';

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
  /** Called around the measured run only (not the warm-up), e.g. to profile exactly that stretch. */
  measuredRun?: { before(): Promise<void>; after(): Promise<void> };
}

export interface LoadStats {
  requestsPerSec: number;
  requests: number;
  durationSec: number;
  /** Of 2xx answers, in ms, from our own samples: autocannon's histogram rounds to whole ms. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Cores busy on average during the measured run (1.0 = one core). */
  cpu: CpuShares;
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

/** A warm-up run (thrown away), then the measured run: req/s, latency percentiles, CPU of both sides. */
export async function measureLoad(target: LoadTarget, settings: LoadSettings): Promise<LoadStats> {
  const common = {
    url: target.url,
    method: target.method ?? 'GET',
    headers: target.headers,
    body: target.body,
    connections: settings.connections,
  };
  if (settings.warmupSec > 0) await autocannon({ ...common, duration: settings.warmupSec });

  await settings.measuredRun?.before();
  const latencies = new SampleBuffer();
  const meter = startCpuMeter(settings.serverPid);
  const run = autocannon({ ...common, duration: settings.durationSec });
  // Without a callback autocannon returns its tracker, an EventEmitter made thenable.
  const tracker = run as unknown as autocannon.Instance;
  tracker.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
  });
  const result = await run;
  const cpu = meter.stop();
  await settings.measuredRun?.after();

  const sorted = latencies.sorted();
  let sum = 0;
  for (const value of sorted) sum += value;
  const answered = result['2xx'] + result.non2xx;
  return {
    requestsPerSec: answered / result.duration,
    requests: answered,
    durationSec: result.duration,
    latencyMs: {
      mean: sum / sorted.length,
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpu,
  };
}
