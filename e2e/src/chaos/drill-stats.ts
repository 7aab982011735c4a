import type { RouteName, Sample } from './load-loop.ts';

export interface RouteSummary {
  requests: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** HTTP status → count; 0 is "no answer". */
  statuses: Record<string, number>;
  /** fresh / stale / ok / error code → count. */
  outcomes: Record<string, number>;
  /** Share of answers that were a success for this route (fresh for /v1/me, 2xx otherwise). */
  successRate: number | null;
  /** Share of answers per status class: the error rates of the report. */
  errorRates: Record<string, number>;
}

/** Nearest-rank percentile; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Fresh data for /v1/me (a stale copy is a degradation, not a success); any 2xx elsewhere. */
export function isSuccess(sample: Sample): boolean {
  if (sample.route === 'me') return sample.status === 200 && sample.outcome === 'fresh';
  return sample.status >= 200 && sample.status < 300;
}

const round = (value: number | null) => (value === null ? null : Math.round(value * 10) / 10);

export function summarize(samples: readonly Sample[]): RouteSummary {
  const latencies = samples.map((sample) => sample.latencyMs);
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  for (const sample of samples) {
    statuses[sample.status] = (statuses[sample.status] ?? 0) + 1;
    outcomes[sample.outcome] = (outcomes[sample.outcome] ?? 0) + 1;
  }
  const errorRates: Record<string, number> = {};
  for (const [status, count] of Object.entries(statuses)) {
    if (status !== '200') errorRates[status === '0' ? 'no-answer' : status] = Math.round((count / samples.length) * 10_000) / 10_000;
  }
  return {
    requests: samples.length,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies.length > 0 ? Math.max(...latencies) : null),
    statuses,
    outcomes,
    successRate: samples.length === 0 ? null : Math.round((samples.filter(isSuccess).length / samples.length) * 10_000) / 10_000,
    errorRates,
  };
}

export function summarizeByRoute(samples: readonly Sample[]): Record<RouteName, RouteSummary> {
  return {
    me: summarize(samples.filter((sample) => sample.route === 'me')),
    'user-direct': summarize(samples.filter((sample) => sample.route === 'user-direct')),
    healthy: summarize(samples.filter((sample) => sample.route === 'healthy')),
  };
}

/**
 * When /v1/me was healthy again: the end of the first of `run` consecutive fresh answers (in the
 * order the requests were sent) among those sent at or after `from`; undefined if never.
 */
export function recoveredAt(samples: readonly Sample[], from: number, run: number): number | undefined {
  const me = samples.filter((sample) => sample.route === 'me' && sample.start >= from).sort((a, b) => a.start - b.start);
  let streak = 0;
  for (let index = 0; index < me.length; index += 1) {
    const sample = me[index] as Sample;
    streak = isSuccess(sample) ? streak + 1 : 0;
    if (streak === run) {
      const first = me[index - run + 1] as Sample;
      return first.start + first.latencyMs;
    }
  }
  return undefined;
}
