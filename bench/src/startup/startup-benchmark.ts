import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, scratchCopy } from '@carshare/testing';
import { atMost, formatGoal, type BenchmarkRun } from '../benchmark.ts';
import { median, segmentsOf, startPlatform, type PlatformRunOptions } from './platform-run.ts';
import { repoRoot } from '../spawn-child-server.ts';

interface RunResult {
  kind: string;
  readyLineMs: number;
  healthReadyMs: number;
  nodeCpuMs: number;
  segments: { label: string; ms: number }[];
}

async function timedStart(kind: string, options: Omit<PlatformRunOptions, 'gatewayPort'>): Promise<RunResult> {
  const run = await startPlatform({ ...options, gatewayPort: await freePort() });
  await run.stop();
  return { kind, readyLineMs: run.readyLineMs, healthReadyMs: run.healthReadyMs, nodeCpuMs: run.nodeCpuMs, segments: segmentsOf(run.marks) };
}

function medianSegments(runs: readonly RunResult[]): { label: string; ms: number }[] {
  const labels: string[] = [];
  for (const run of runs) for (const segment of run.segments) if (!labels.includes(segment.label)) labels.push(segment.label);
  return labels.map((label) => ({ label, ms: median(runs.map((run) => run.segments.find((segment) => segment.label === label)?.ms ?? 0)) }));
}

/** `npm --version`'s own time: what any `npm run` costs before its script starts. */
function npmOverheadMs(root: string, repeat: number): number {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    execFileSync('npm', ['run', '-s', 'env', '--', 'true'], { cwd: root, stdio: 'ignore' });
    times.push(performance.now() - started);
  }
  return median(times);
}

const ms = (value: number) => `${Math.round(value)}`.padStart(6);

/**
 * `npm run bench -- startup [--runs N]`: cold (no dist/, no data dir) and warm `npm start` to the
 * ready line and to /health/ready, in a scratch copy of the repository, plus warm starts without
 * npm (`node scripts/start.mjs up`). Medians of N runs each, and where the time goes.
 */
export const runStartupBenchmark: BenchmarkRun = async (options) => {
  const runs = Math.max(1, Math.round(Number(options.flags['runs'] ?? 5)));
  const coldRuns = Math.max(1, Math.round(Number(options.flags['cold-runs'] ?? 3)));
  const loadBefore = loadavg()[0] as number;
  const root = scratchCopy(repoRoot, 'carshare-startup-');
  const dataDirs: string[] = [];
  const freshDataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'carshare-startup-data-'));
    dataDirs.push(dir);
    return dir;
  };
  try {
    const npmStart = ['npm', 'start'] as const;
    // The start script's own command line (node flags included), without npm in front.
    const startScript = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    const direct = [process.execPath, ...startScript.split(/\s+/).filter(Boolean).slice(1)];
    const cold: RunResult[] = [];
    for (let i = 0; i < coldRuns; i++) {
      rmSync(join(root, 'dist'), { recursive: true, force: true });
      cold.push(await timedStart('cold', { cwd: root, command: npmStart, dataDir: freshDataDir() }));
    }
    const dataDir = freshDataDir();
    await timedStart('first start of the warm data dir', { cwd: root, command: npmStart, dataDir });
    const warm: RunResult[] = [];
    const warmDirect: RunResult[] = [];
    for (let i = 0; i < runs; i++) {
      warm.push(await timedStart('warm npm start', { cwd: root, command: npmStart, dataDir }));
      warmDirect.push(await timedStart('warm node scripts/start.mjs up', { cwd: root, command: direct, dataDir }));
    }
    const npmAlone = npmOverheadMs(root, runs);
    const loadAfter = loadavg()[0] as number;

    const summaryOf = (name: string, results: readonly RunResult[]) => ({
      name,
      runs: results.length,
      readyLineMs: median(results.map((result) => result.readyLineMs)),
      healthReadyMs: median(results.map((result) => result.healthReadyMs)),
      allHealthReadyMs: results.map((result) => Math.round(result.healthReadyMs)),
      nodeCpuMs: median(results.map((result) => result.nodeCpuMs)),
      segments: medianSegments(results),
    });
    const table = [summaryOf('cold npm start (no dist/, new data dir)', cold), summaryOf('warm npm start', warm), summaryOf(`warm ${startScript} (no npm)`, warmDirect)];
    const goals = [
      atMost('warm npm start → /health/ready ms', table[1]?.healthReadyMs ?? Number.NaN, 2000),
      atMost('cold npm start → /health/ready ms', table[0]?.healthReadyMs ?? Number.NaN, 10_000),
    ];
    const lines = [
      `startup: medians (ms); load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after, 2 cores shared`,
      '',
      ...table.flatMap((row) => [
        `${row.name}: ready line ${Math.round(row.readyLineMs)} ms, /health/ready ${Math.round(row.healthReadyMs)} ms (runs: ${row.allHealthReadyMs.join(', ')}); node process CPU to ready ${Math.round(row.nodeCpuMs)} ms`,
        ...row.segments.map((segment) => `  ${ms(segment.ms)}  ${segment.label}`),
        '',
      ]),
      `npm run alone (npm run -s env -- true): ${Math.round(npmAlone)} ms`,
      '',
      ...goals.map((goal) => formatGoal(goal, 40, 0)),
    ];
    return { results: { runs, coldRuns, loadBefore, loadAfter, npmRunAloneMs: npmAlone, table, cold, warm, warmDirect }, goals, summary: lines.join('\n') };
  } finally {
    rmSync(root, { recursive: true, force: true });
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
};
