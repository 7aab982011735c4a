/**
 * The one test entry point (`npm test`). Node 20's runner neither expands globs nor finds .ts
 * files by itself, so this lists the test files and hands them to `node --test` with tsx loaded.
 *
 *   npm test                 type-check and lint side by side, every *.test.ts in the repo from the
 *                            moment the type-check is through (the *.chaos.test.ts drills last, on
 *                            their own); a table of the slowest files and the run's CPU time at the end
 *   npm test -- services/user  only those below the given folders
 *   npm run chaos            the long form of the chaos suite (CHAOS_FULL=1)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
const skippedFolders = new Set(['node_modules', 'dist', '.git', 'data', '.data']);

function findTestFiles(folder: string, found: string[] = []): string[] {
  if (statSync(folder).isFile()) {
    found.push(folder);
    return found;
  }
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (skippedFolders.has(entry.name)) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) findTestFiles(path, found);
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const args = process.argv.slice(2);
const chaos = args.includes('--chaos');
const roots = args.filter((arg) => !arg.startsWith('--'));
const folders = roots.length > 0 ? roots.map((root) => resolve(process.cwd(), root)) : [repoRoot];
const files = folders.flatMap((folder) => findTestFiles(folder)).sort();
const selected = chaos ? files.filter((file) => file.endsWith('.chaos.test.ts')) : files;

if (selected.length === 0) {
  console.error(`no test files under ${folders.map((folder) => relative(repoRoot, folder) || '.').join(', ')}`);
  process.exit(1);
}

/**
 * Runs a command to its end; resolves with its exit code (1 when a signal ended it). With
 * `limitMs`, the command and everything it started (its own process group) are killed when it
 * outlives the bound: on Node 24 `--test-timeout` bounds tests but no longer whole files, so one
 * file kept alive by a leaked child process would otherwise hold CI until its own limit.
 */
function run(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; limitMs?: number } = {}): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd ?? process.cwd(),
      stdio: 'inherit',
      env: options.env ?? process.env,
      detached: options.limitMs !== undefined,
    });
    const limit =
      options.limitMs === undefined
        ? undefined
        : setTimeout(() => {
            console.error(`run-tests: still running after ${Math.round((options.limitMs as number) / 60_000)} min; killing the test run and what it started`);
            try {
              process.kill(-(child.pid as number), 'SIGKILL');
            } catch {
              child.kill('SIGKILL');
            }
          }, options.limitMs);
    // Its own process group no longer hears the terminal's Ctrl-C: pass it on.
    const forward = (signal: NodeJS.Signals) => {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        child.kill(signal);
      }
    };
    if (options.limitMs !== undefined) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, forward);
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      for (const name of ['SIGINT', 'SIGTERM'] as const) process.removeListener(name, forward);
      resolvePromise(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * The whole suite also type-checks and lints, so CI (which runs `npm test`) enforces both. They
 * share nothing (packages export their sources), so they run side by side: one per core. Each
 * resolves with its exit code when it ends.
 */
function startStaticChecks(): { typeCheck: Promise<number>; lint: Promise<number> } {
  const check = async (name: string, command: readonly string[], env?: NodeJS.ProcessEnv): Promise<number> => {
    const started = performance.now();
    const code = await run(command, { cwd: repoRoot, ...(env && { env }) });
    const ms = Math.round(performance.now() - started);
    timings.set(`<${name}>`, ms);
    console.log(code === 0 ? `${name}: clean in ${ms} ms` : `${name} failed`);
    return code;
  };
  return {
    typeCheck: check('type-check', ['scripts/type-check.mjs']),
    // Typed linting holds every package's program at once: past ~2 GB with eight services, more
    // than V8's default old space here (it died of heap exhaustion in CI). The whole repository
    // is linted against two programs built once (eslint.config.js), not one per tsconfig.
    lint: check('lint', ['--max-old-space-size=8192', 'node_modules/eslint/bin/eslint.js', '.', '--max-warnings', '0'], { ...process.env, CARSHARE_LINT_PROGRAMS: '1' }),
  };
}

/**
 * Wall time per test file (and per static check) from the last runs on this machine, kept in the
 * user's cache like CI's Node 24: the next run starts the longest files first, so two long ones do
 * not meet at the end with one core idle. Files it has not seen yet go first too (e2e and scripts
 * are the long kind). Only the order depends on it; a missing or broken file changes nothing else.
 */
const timingsFile = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'carshare', 'test-timings.json');
const timings = new Map<string, number>();
const knownTimings = ((): Map<string, number> => {
  try {
    return new Map(Object.entries(JSON.parse(readFileSync(timingsFile, 'utf8')) as Record<string, number>));
  } catch {
    return new Map();
  }
})();

function expectedMs(file: string): number {
  const key = relative(repoRoot, file);
  return knownTimings.get(key) ?? (/^(e2e|scripts)\//.test(key) ? 60_000 : 10_000);
}

function longestFirst(files: readonly string[]): string[] {
  return [...files].sort((a, b) => expectedMs(b) - expectedMs(a) || a.localeCompare(b));
}

/** CPU seconds of every process this one started and waited for (their children included). */
function childrenCpuSeconds(): number | undefined {
  try {
    // /proc/self/stat: fields 16 and 17 (cutime, cstime) in clock ticks, 100 a second on Linux;
    // the command name in parentheses may hold spaces, so count from its closing parenthesis.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined; // not Linux
  }
}

function readFileTimings(path: string): { file: string; ms: number; ok: boolean }[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { file: string; ms: number; ok: boolean });
  } catch {
    return [];
  }
}

function printSummary(startedMs: number, loadAtStart: number[]): void {
  const rows = [...timings].sort((a, b) => b[1] - a[1]);
  if (rows.length > 0) {
    console.log(`\nrun-tests: the slowest of ${rows.length} parts (wall time, seconds; files ran ${concurrency} at a time)`);
    for (const [name, ms] of rows.slice(0, 25)) console.log(`${(ms / 1000).toFixed(1).padStart(8)}  ${name}`);
  }
  const cpu = childrenCpuSeconds();
  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
  console.log(
    `run-tests: ${Math.round((performance.now() - startedMs) / 1000)} s wall` +
      (cpu === undefined ? '' : `, ${Math.round(cpu)} s CPU (all processes)`) +
      `; load average ${load(loadAtStart)} at the start, ${load(loadavg())} at the end, on ${availableParallelism()} cores`,
  );
  if (roots.length > 0 || chaos) return; // a part of the suite: its order is the whole run's business
  try {
    mkdirSync(dirname(timingsFile), { recursive: true });
    writeFileSync(timingsFile, JSON.stringify(Object.fromEntries([...knownTimings, ...timings]), null, 1));
  } catch {
    // an unwritable cache costs the next run its order, nothing more
  }
}

function testRun(files: readonly string[], options: { concurrency: number; timeoutMs: number; timingsTo: string }): string[] {
  return [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${options.concurrency}`,
    // On Node 20 the timeout bounds whole files too: the full chaos drills need longer.
    `--test-timeout=${options.timeoutMs}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(repoRoot, 'scripts/test-timing-reporter.mjs')}`,
    `--test-reporter-destination=${options.timingsTo}`,
    // The runner starts files in the order given as slots free up.
    ...files.map((file) => relative(process.cwd(), file)),
  ];
}

/** One `node --test` over `files`; the wall time of each file lands in `timings`. */
async function runFiles(files: readonly string[], options: { concurrency: number; timeoutMs: number; limitMs: number; env?: NodeJS.ProcessEnv }): Promise<number> {
  const timingsTo = join(tmpdir(), `carshare-test-timings-${process.pid}-${Math.floor(Math.random() * 1e9)}.jsonl`);
  try {
    const code = await run(testRun(files, { ...options, timingsTo }), { limitMs: options.limitMs, ...(options.env && { env: options.env }) });
    for (const { file, ms } of readFileTimings(timingsTo)) timings.set(relative(repoRoot, file), ms);
    return code;
  } finally {
    rmSync(timingsTo, { force: true });
  }
}

const startedMs = performance.now();
const loadAtStart = loadavg();
const concurrency = chaos ? 1 : 2;

// CARSHARE_STATIC_CHECKS=0 skips them where they would only repeat themselves: .ci/run's second
// pass on another Node version, where types and lint cannot differ but the runtime can.
const staticChecks = roots.length === 0 && !chaos && process.env.CARSHARE_STATIC_CHECKS !== '0' ? startStaticChecks() : undefined;

if (chaos) {
  const code = await runFiles(selected, { concurrency: 1, timeoutMs: 900_000, limitMs: 60 * 60_000, env: { ...process.env, CHAOS_FULL: '1' } });
  printSummary(startedMs, loadAtStart);
  process.exit(code);
}

// The type-check is the shorter of the two checks (~30 s against lint's ~65 s on a quiet 2-core
// box, both on the programs of repository-programs.mjs): the tests start when it is through, on
// the core it leaves, instead of that core idling until lint is done too. A type error still stops
// the run before any test (once lint has reported too, as before).
if (staticChecks) {
  const typeCheckCode = await staticChecks.typeCheck;
  if (typeCheckCode !== 0) {
    await staticChecks.lint;
    process.exit(typeCheckCode);
  }
}

// The chaos drills hold latency bounds, so they run after the rest, alone: next to another
// heavy test file on this 2-core box their p99s measure the neighbour, not the breaker.
const drills = selected.filter((file) => file.endsWith('.chaos.test.ts'));
const others = longestFirst(selected.filter((file) => !file.endsWith('.chaos.test.ts')));
// With AMQP_URL set, tests must leave nothing on the shared broker: what they declare is named
// `test-<run>-…` (or, wrongly, `carshare.…`), and any of it still there at the end fails the run.
process.env.CARSHARE_TEST_RUN ??= `r${process.pid}`;
const brokerSnapshot = join(tmpdir(), `carshare-broker-${process.env.CARSHARE_TEST_RUN}.json`);
const brokerCheck = (mode: 'snapshot' | 'check'): Promise<number> =>
  run(['--import', 'tsx', 'libs/messaging/scripts/broker-leftovers.ts', mode, brokerSnapshot, process.env.CARSHARE_TEST_RUN as string], { cwd: repoRoot });
const snapshotCode = await brokerCheck('snapshot');
// A file's bound, not a test's: the generator's scratch type-check and the licence OCR flow take
// 2–2.5 min on a loaded 2-core box, so 3 min failed them for load alone.
// The limits are about three times what each part takes on a loaded CI box.
const othersCode = others.length > 0 ? await runFiles(others, { concurrency, timeoutMs: 300_000, limitMs: 40 * 60_000 }) : 0;
const lintCode = staticChecks ? await staticChecks.lint : 0;
// The distributed drill (five processes, rolling restarts) takes 2–3 min on a loaded box.
const drillsCode = drills.length > 0 ? await runFiles(drills, { concurrency: 1, timeoutMs: 300_000, limitMs: 15 * 60_000 }) : 0;
const leftoverCode = snapshotCode === 0 ? await brokerCheck('check') : 0;
rmSync(brokerSnapshot, { force: true });
printSummary(startedMs, loadAtStart);
// Lint ended long before, somewhere in the tests' output: its failure is repeated last.
if (lintCode !== 0) console.error('run-tests: lint failed (its report is further up, before the tests that ran beside it)');
process.exit([lintCode, othersCode, drillsCode, leftoverCode].find((code) => code !== 0) ?? 0);
