import type { BenchOptions } from './benchmark.ts';

export interface BenchArgs {
  name: string | undefined;
  options: BenchOptions;
}

export const defaultBenchOptions = { durationSec: 10, connections: 50, warmupSec: 3 } as const;

function positiveNumber(flag: string, raw: string | true | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isFinite(value) || value <= 0) throw new Error(`--${flag} needs a positive number, got ${String(raw)}`);
  return value;
}

/** `<name> [--duration S] [--connections N] [--warmup S] [--other[=value]]…` */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let name: string | undefined;
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      if (name !== undefined) throw new Error(`one benchmark at a time: got ${name} and ${arg}`);
      name = arg;
      continue;
    }
    const [flag, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    const next = argv[i + 1];
    if (inline !== undefined) flags[flag] = inline;
    else if (next !== undefined && !next.startsWith('--')) {
      flags[flag] = next;
      i++;
    } else flags[flag] = true;
  }
  const { duration, connections, warmup, ...rest } = flags;
  return {
    name,
    options: {
      durationSec: positiveNumber('duration', duration, defaultBenchOptions.durationSec),
      connections: Math.round(positiveNumber('connections', connections, defaultBenchOptions.connections)),
      // A warm-up longer than the run it prepares is wasted time on short runs.
      warmupSec: positiveNumber('warmup', warmup, Math.min(defaultBenchOptions.warmupSec, positiveNumber('duration', duration, defaultBenchOptions.durationSec))),
      flags: rest,
    },
  };
}
