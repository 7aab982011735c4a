/**
 * The one test entry point (`npm test`). Node 20's runner neither expands globs nor finds .ts
 * files by itself, so this lists the test files and hands them to `node --test` with tsx loaded.
 *
 *   npm test                 type-check, lint, then every *.test.ts in the repo
 *   npm test -- services/user  only those below the given folders
 *   npm run chaos            the long form of the chaos suite (CHAOS_FULL=1)
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

/** The whole suite also type-checks and lints, so CI (which runs `npm test`) enforces both. */
function runStaticChecks(): void {
  for (const [name, command] of [
    ['type-check', ['node_modules/typescript/bin/tsc', '-b']],
    ['lint', ['node_modules/eslint/bin/eslint.js', '.', '--max-warnings', '0']],
  ] as const) {
    const started = performance.now();
    const result = spawnSync(process.execPath, command, { cwd: repoRoot, stdio: 'inherit' });
    if (result.status !== 0) {
      console.error(`${name} failed`);
      process.exit(result.status ?? 1);
    }
    console.log(`${name}: clean in ${Math.round(performance.now() - started)} ms`);
  }
}

if (roots.length === 0 && !chaos) runStaticChecks();

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    // On Node 20 the timeout bounds whole files too: the full chaos drills need longer.
    ...(chaos ? ['--test-concurrency=1', '--test-timeout=900000'] : ['--test-concurrency=2', '--test-timeout=180000']),
    '--test-reporter=spec',
    ...selected.map((file) => relative(process.cwd(), file)),
  ],
  { stdio: 'inherit', env: chaos ? { ...process.env, CHAOS_FULL: '1' } : process.env },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
