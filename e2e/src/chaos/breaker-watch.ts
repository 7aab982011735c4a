import { setTimeout as sleep } from 'node:timers/promises';
import type { OutputLine } from '@carshare/testing';

export type BreakerStateValue = 0 | 1 | 2;

export interface BreakerReading {
  /** ms since the drill began, when the scrape answered. */
  at: number;
  state: BreakerStateValue;
  /** carshare_breaker_transitions_total{to="open"}: catches an opening that fell between two scrapes. */
  openings: number;
}

export interface BreakerTransition {
  /** ms since the drill began, from the gateway's own log timestamp. */
  at: number;
  from: string;
  to: string;
}

export interface BreakerWatch {
  readonly readings: readonly BreakerReading[];
  stop(): Promise<void>;
}

/** `carshare_breaker_state{downstream="<name>"}` from a Prometheus text page. */
export function breakerStateOf(metrics: string, downstream: string): BreakerStateValue | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('carshare_breaker_state{') || !line.includes(`downstream="${downstream}"`)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (value === 0 || value === 1 || value === 2) return value;
  }
  return undefined;
}

/** Sum of `carshare_breaker_transitions_total{downstream="<name>",to="<to>"}` over its other labels. */
export function breakerTransitionsOf(metrics: string, downstream: string, to: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('carshare_breaker_transitions_total{') || !line.includes(`downstream="${downstream}"`) || !line.includes(`to="${to}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return total;
}

/** Scrapes the gateway's /metrics every `intervalMs` until stopped (bounded by `maxDurationMs`). */
export function watchBreaker(options: { metricsUrl: string; downstream: string; intervalMs: number; maxDurationMs: number; epoch: number }): BreakerWatch {
  const readings: BreakerReading[] = [];
  const stopAt = performance.now() + options.maxDurationMs;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && performance.now() < stopAt) {
      try {
        const response = await fetch(options.metricsUrl, { signal: AbortSignal.timeout(2_000) });
        const page = await response.text();
        const state = breakerStateOf(page, options.downstream);
        if (state !== undefined) readings.push({ at: performance.now() - options.epoch, state, openings: breakerTransitionsOf(page, options.downstream, 'open') });
      } catch {
        // A missed scrape is a gap in the readings, not a failure of the drill.
      }
      await sleep(options.intervalMs);
    }
  })();
  return {
    readings,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/**
 * The breaker's transitions as the gateway logged them (once each, with a ms timestamp), which
 * places the opening far more precisely than a scrape interval can.
 */
export function breakerTransitionsFromLogs(lines: readonly OutputLine[], downstream: string, wallEpoch: number): BreakerTransition[] {
  const transitions: BreakerTransition[] = [];
  for (const { text } of lines) {
    if (!text.includes('"from"') || !text.includes(`circuit to ${downstream}`)) continue;
    try {
      const entry = JSON.parse(text) as { time?: unknown; from?: unknown; to?: unknown; downstream?: unknown };
      if (entry.downstream !== downstream || typeof entry.from !== 'string' || typeof entry.to !== 'string') continue;
      const time = typeof entry.time === 'string' ? Date.parse(entry.time) : typeof entry.time === 'number' ? entry.time : Number.NaN;
      if (Number.isNaN(time)) continue;
      transitions.push({ at: time - wallEpoch, from: entry.from, to: entry.to });
    } catch {
      // Not a JSON log line.
    }
  }
  return transitions;
}
