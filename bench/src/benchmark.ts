/** What every benchmark receives: the common knobs, plus any flag main.ts does not know itself. */
export interface BenchOptions {
  /** Seconds per measured load run. */
  durationSec: number;
  /** Concurrent connections of the load generator. */
  connections: number;
  /** Seconds of load before each measured run, thrown away (JIT, pools, caches). */
  warmupSec: number;
  /** `--name value` / `--name=value` / bare `--name` (true) flags left over for the benchmark. */
  flags: Readonly<Record<string, string | true>>;
}

/** A goal the issue set, checked on every run so a regression shows as FAIL, not as a number. */
export interface BenchGoal {
  name: string;
  value: number;
  comparison: 'atLeast' | 'atMost';
  target: number;
  pass: boolean;
}

export interface BenchReport {
  /** Everything measured; main.ts writes it to bench/results/<name>-<timestamp>.json. */
  results: Record<string, unknown>;
  /** One screen for the terminal. */
  summary: string;
  goals: BenchGoal[];
}

export type BenchmarkRun = (options: BenchOptions) => Promise<BenchReport>;

export interface BenchmarkEntry {
  name: string;
  /** One line for `npm run bench` without a name. */
  description: string;
  /** Imported only when chosen, so listing or running one never loads another's dependencies. */
  load: () => Promise<BenchmarkRun>;
}

/** A goal met when `value` ≥ `target` (throughput, ratios). NaN (a run that did not happen) fails. */
export function atLeast(name: string, value: number, target: number): BenchGoal {
  return { name, value, comparison: 'atLeast', target, pass: Number.isFinite(value) && value >= target };
}

/** A goal met when `value` ≤ `target` (latency, overhead per call). NaN fails. */
export function atMost(name: string, value: number, target: number): BenchGoal {
  return { name, value, comparison: 'atMost', target, pass: Number.isFinite(value) && value <= target };
}

/** `name  value  goal ≥ target  pass|FAIL`, one line, for summaries. */
export function formatGoal(goal: BenchGoal, width = 28, digits = 3): string {
  const value = Number.isFinite(goal.value) ? goal.value.toFixed(digits) : '–';
  return `${goal.name.padEnd(width)}${value.padStart(10)}   goal ${goal.comparison === 'atLeast' ? '≥' : '≤'} ${goal.target}   ${goal.pass ? 'pass' : 'FAIL'}`;
}
