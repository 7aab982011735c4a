/**
 * `npm run bench -- <name> [--duration S] [--connections N] [--warmup S]`: runs one benchmark,
 * writes its results to bench/results/<name>-<timestamp>.json and prints a one-screen summary.
 * Without a name it lists the benchmarks.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { benchmarks } from './benchmark-registry.ts';
import { defaultBenchOptions, parseBenchArgs } from './parse-bench-args.ts';

const resultsDir = resolve(import.meta.dirname, '..', 'results');

function listBenchmarks(): string {
  const width = Math.max(...benchmarks.map((entry) => entry.name.length));
  return [
    'usage: npm run bench -- <name> [--duration S] [--connections N] [--warmup S]',
    `defaults: ${defaultBenchOptions.durationSec} s per run, ${defaultBenchOptions.connections} connections, ${defaultBenchOptions.warmupSec} s warm-up`,
    '',
    ...benchmarks.map((entry) => `  ${entry.name.padEnd(width)}  ${entry.description}`),
  ].join('\n');
}

async function main(): Promise<number> {
  const { name, options } = parseBenchArgs(process.argv.slice(2));
  if (name === undefined) {
    console.log(listBenchmarks());
    return 0;
  }
  const entry = benchmarks.find((candidate) => candidate.name === name);
  if (!entry) {
    console.error(`no benchmark named ${name}\n\n${listBenchmarks()}`);
    return 1;
  }
  const run = await entry.load();
  const startedAt = new Date();
  const report = await run(options);
  const file = join(resultsDir, `${name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await mkdir(resultsDir, { recursive: true });
  const machine = { node: process.version, platform: process.platform, arch: process.arch, cpus: cpus().length, cpuModel: cpus()[0]?.model };
  const settings = { durationSec: options.durationSec, connections: options.connections, warmupSec: options.warmupSec, flags: options.flags };
  await writeFile(
    file,
    `${JSON.stringify({ benchmark: name, startedAt: startedAt.toISOString(), machine, options: settings, goals: report.goals, ...report.results }, null, 2)}\n`,
  );
  console.log(report.summary);
  console.log(`\nresults: ${relative(process.cwd(), file)}`);
  // Goals are reported, not enforced, unless asked: a noisy laptop should not look like a crash.
  return options.flags['strict'] === true && report.goals.some((goal) => !goal.pass) ? 2 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
