/**
 * The one test entry point (`npm test`). Node 20's runner neither expands globs nor finds .ts
 * files by itself, so this lists the test files and hands them to `node --test` with tsx loaded.
 *
 *   npm test                 type-check and lint side by side, then every *.test.ts in the repo
 *                            (the *.chaos.test.ts drills last, on their own)
 *   npm test -- services/user  only those below the given folders
 *   npm run chaos            the long form of the chaos suite (CHAOS_FULL=1)
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

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
 * share nothing (packages export their sources), so they run side by side: one per core.
 */
async function runStaticChecks(): Promise<void> {
  const checks = [
    ['type-check', ['node_modules/typescript/bin/tsc', '-b']],
    // Typed linting holds every package's program at once: past ~2 GB with eight services, more
    // than V8's default old space here (it died of heap exhaustion in CI).
    ['lint', ['--max-old-space-size=8192', 'node_modules/eslint/bin/eslint.js', '.', '--max-warnings', '0']],
  ] as const;
  const results = await Promise.all(
    checks.map(async ([name, command]) => {
      const started = performance.now();
      const code = await run(command, { cwd: repoRoot });
      console.log(code === 0 ? `${name}: clean in ${Math.round(performance.now() - started)} ms` : `${name} failed`);
      return code;
    }),
  );
  const failed = results.find((code) => code !== 0);
  if (failed !== undefined) process.exit(failed);
}

function testRun(files: readonly string[], options: { concurrency: number; timeoutMs: number }): string[] {
  return [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${options.concurrency}`,
    // On Node 20 the timeout bounds whole files too: the full chaos drills need longer.
    `--test-timeout=${options.timeoutMs}`,
    '--test-reporter=spec',
    ...files.map((file) => relative(process.cwd(), file)),
  ];
}

// CARSHARE_STATIC_CHECKS=0 skips them where they would only repeat themselves: .ci/run's second
// pass on another Node version, where types and lint cannot differ but the runtime can.
if (roots.length === 0 && !chaos && process.env.CARSHARE_STATIC_CHECKS !== '0') await runStaticChecks();

if (chaos) {
  process.exit(await run(testRun(selected, { concurrency: 1, timeoutMs: 900_000 }), { env: { ...process.env, CHAOS_FULL: '1' } }));
}

// The chaos drills hold latency bounds, so they run after the rest, alone: next to another
// heavy test file on this 2-core box their p99s measure the neighbour, not the breaker.
const drills = selected.filter((file) => file.endsWith('.chaos.test.ts'));
const others = selected.filter((file) => !file.endsWith('.chaos.test.ts'));
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
const othersCode = others.length > 0 ? await run(testRun(others, { concurrency: 2, timeoutMs: 300_000 }), { limitMs: 40 * 60_000 }) : 0;
// The distributed drill (five processes, rolling restarts) takes 2–3 min on a loaded box.
const drillsCode = drills.length > 0 ? await run(testRun(drills, { concurrency: 1, timeoutMs: 300_000 }), { limitMs: 15 * 60_000 }) : 0;
const leftoverCode = snapshotCode === 0 ? await brokerCheck('check') : 0;
rmSync(brokerSnapshot, { force: true });
process.exit(othersCode !== 0 ? othersCode : drillsCode !== 0 ? drillsCode : leftoverCode);
