// Builds the web apps (apps/*-web: every app with a vite.config.ts and an index.html) into their
// dist/ folders, which the gateway serves at / and /admin (services/gateway/src/api/web-apps.ts).
//
// Like build-cli.mjs, an app is rebuilt only when one of its inputs changed: a stamp in its dist/
// records the size, mtime and SHA-256 of every input file (the app's own files, the web client and
// the contracts it is typed from, the lockfiles standing for node_modules). A warm `npm start` costs
// one stat per input (~a few ms); a touched but unchanged file costs one hash, not a build.
//
//   node scripts/build-web.mjs [--force] [app…]   build what is stale (all apps by default)
//   node scripts/build-web.mjs dev [app]          the embedded platform + Vite's dev server with hot
//                                                 reload, proxying the API to it (`npm run dev`)
//
// A build writes to a temporary folder and swaps it in, under a lock, so a gateway serving the old
// build and a second builder (two test files) never see half a dist/.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';

const here = fileURLToPath(import.meta.url);
export const repoRoot = join(dirname(here), '..');
const stampName = '.build-stamp.json';
/** Bump when the stamp's shape changes: an old stamp then reads as stale. */
const stampFormat = 1;
const lockWaitMs = 180_000;

/** The apps this script builds: folders under apps/ with a Vite config and an index.html. */
export function webApps() {
  const appsDir = join(repoRoot, 'apps');
  return readdirSync(appsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(appsDir, entry.name, 'vite.config.ts')) && existsSync(join(appsDir, entry.name, 'index.html')))
    .map((entry) => entry.name)
    .sort();
}

function walk(folder, found = []) {
  if (!existsSync(folder)) return found;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) walk(path, found);
    else if (entry.isFile() && !/\.test\.tsx?$/.test(entry.name)) found.push(path);
  }
  return found;
}

/** Every file whose change can change the app's build output. */
function inputsOf(app) {
  const appDir = join(repoRoot, 'apps', app);
  return [
    ...walk(join(appDir, 'src')),
    ...walk(join(appDir, 'public')),
    join(appDir, 'index.html'),
    join(appDir, 'vite.config.ts'),
    join(appDir, 'package.json'),
    ...walk(join(repoRoot, 'libs', 'web-client', 'src')),
    ...walk(join(repoRoot, 'contracts', 'src')),
    join(repoRoot, 'package-lock.json'),
    join(repoRoot, 'node_modules', '.package-lock.json'),
    here,
  ].filter((file) => existsSync(file));
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Whether apps/<app>/dist was built from the files as they are now, and if not, why. */
export function webAppIsFresh(app) {
  const dist = join(repoRoot, 'apps', app, 'dist');
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(dist, stampName), 'utf8'));
  } catch {
    return { fresh: false, reason: existsSync(join(dist, 'index.html')) ? 'built without a stamp' : 'never built' };
  }
  if (stamp.format !== stampFormat) return { fresh: false, reason: 'the stamp is from another build script' };
  if (!existsSync(join(dist, 'index.html'))) return { fresh: false, reason: 'dist/index.html is gone' };
  const inputs = inputsOf(app).map((file) => relative(repoRoot, file));
  const recordedPaths = Object.keys(stamp.inputs);
  if (inputs.length !== recordedPaths.length || inputs.some((path) => !(path in stamp.inputs))) return { fresh: false, reason: 'files were added or removed' };
  let refreshed = false;
  for (const path of inputs) {
    const recorded = stamp.inputs[path];
    const stats = statSync(join(repoRoot, path));
    if (stats.size === recorded.size && stats.mtimeMs === recorded.mtimeMs) continue;
    if (stats.size !== recorded.size || sha256(join(repoRoot, path)) !== recorded.sha256) return { fresh: false, reason: `${path} changed` };
    recorded.mtimeMs = stats.mtimeMs;
    refreshed = true;
  }
  if (refreshed) writeFileSync(join(dist, stampName), `${JSON.stringify(stamp)}\n`);
  return { fresh: true, reason: 'inputs unchanged' };
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** One builder per app at a time, across processes: a lock folder naming its owner's pid. */
async function withLock(app, action) {
  const lock = join(repoRoot, 'apps', app, '.dist.lock');
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
      } catch {
        // the owner is between mkdir and writing its pid
      }
      if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > lockWaitMs) throw new Error(`build-web: ${app} stayed locked by pid ${owner} for ${lockWaitMs / 1000} s (${lock})`);
      await sleep(200);
    }
  }
  try {
    return await action();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const compressible = /\.(?:js|mjs|css|html|svg|webmanifest|json)$/;

/**
 * Writes name.br and name.gz beside every text file worth compressing (the gateway sends them to
 * browsers that accept them: web-apps.ts registers @fastify/static with preCompressed). Done once
 * here instead of on every request. Brotli quality 9, not 11: 3% larger here, 10x faster (the map
 * chunk took 8.5 s at 11 on a loaded machine, 0.8 s at 9).
 */
function precompress(folder) {
  for (const file of walk(folder)) {
    if (!compressible.test(file)) continue;
    const bytes = readFileSync(file);
    if (bytes.length < 1024) continue;
    writeFileSync(`${file}.br`, brotliCompressSync(bytes, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
    writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
  }
}

/** Builds one app with Vite into a temporary folder, then swaps it in as dist/ with its stamp. */
export async function buildWebApp(app) {
  const appDir = join(repoRoot, 'apps', app);
  const dist = join(appDir, 'dist');
  // Built beside node_modules' caches (same file system, so the swap is a rename; ignored by git
  // and lint): a build killed half way leaves nothing in the app's folder.
  const scratch = join(repoRoot, 'node_modules', '.cache', 'carshare-web');
  mkdirSync(scratch, { recursive: true });
  const temporary = join(scratch, `${app}-building-${process.pid}`);
  const inputs = {};
  // Recorded before the build: a file edited while Vite runs makes the next check stale.
  for (const file of inputsOf(app)) {
    const stats = statSync(file);
    inputs[relative(repoRoot, file)] = { size: stats.size, mtimeMs: stats.mtimeMs, sha256: sha256(file) };
  }
  const { build } = await import('vite');
  rmSync(temporary, { recursive: true, force: true });
  try {
    await build({ root: appDir, configFile: join(appDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir: temporary, emptyOutDir: true } });
    precompress(temporary);
    writeFileSync(join(temporary, stampName), `${JSON.stringify({ format: stampFormat, builtAt: new Date().toISOString(), inputs })}\n`);
    const old = join(scratch, `${app}-old-${process.pid}`);
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(temporary, dist);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}

/** Builds every stale app (or the ones named); says what it did. */
export async function ensureWebApps({ force = false, apps = webApps(), log = () => undefined } = {}) {
  const results = [];
  for (const app of apps) {
    const check = force ? { fresh: false, reason: 'forced' } : webAppIsFresh(app);
    if (check.fresh) {
      results.push({ app, built: false, reason: check.reason });
      continue;
    }
    const started = Date.now();
    await withLock(app, async () => {
      // Another process may have built it while this one waited for the lock.
      if (!force && webAppIsFresh(app).fresh) return;
      log(`build-web: building apps/${app} (${check.reason})…`);
      await buildWebApp(app);
    });
    results.push({ app, built: true, reason: check.reason, ms: Date.now() - started });
  }
  return results;
}

/**
 * `npm start`'s check: in-process and cheap when everything is fresh; a stale app is built by a
 * child `node` (start runs with --liftoff-only, under which a Vite build would crawl). A failed
 * build does not stop the platform: the gateway answers a 503 page saying how to build.
 */
export async function ensureWebAppsForStart(write = (line) => process.stdout.write(`${line}\n`)) {
  let stale;
  try {
    stale = webApps().filter((app) => !webAppIsFresh(app).fresh);
  } catch (error) {
    write(`carshare: could not check the web apps' builds (${error.message}); serving what is there`);
    return;
  }
  if (stale.length === 0) return;
  write(`carshare: building the web apps (${stale.join(', ')}); this happens once after a change`);
  const code = await new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [here, ...stale], { cwd: repoRoot, stdio: 'inherit' });
    child.on('exit', (exitCode, signal) => resolvePromise(exitCode ?? (signal ? 1 : 0)));
    child.on('error', () => resolvePromise(1));
  });
  if (code !== 0) write('carshare: building the web apps failed (see above); / and /admin answer 503 until `node scripts/build-web.mjs` succeeds');
}

/** `npm run dev`: the platform on :8080 (unless one answers there already) and Vite with hot reload. */
async function dev(app = 'rider-web') {
  const gateway = process.env['CARSHARE_GATEWAY_URL'] ?? 'http://127.0.0.1:8080';
  let platform;
  const running = await globalThis.fetch(`${gateway}/health/live`, { signal: globalThis.AbortSignal.timeout(1000) }).then(
    (response) => response.ok,
    () => false,
  );
  if (running) {
    process.stdout.write(`dev: using the platform already answering at ${gateway}\n`);
  } else {
    process.stdout.write(`dev: starting the embedded platform (npm start) for ${gateway}\n`);
    platform = spawn(process.execPath, [join(repoRoot, 'scripts', 'start.mjs'), 'up'], { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, CARSHARE_SKIP_WEB_BUILD: '1' } });
    platform.on('exit', (code) => {
      process.stdout.write(`dev: the platform exited (${code}); stopping\n`);
      process.exit(code ?? 1);
    });
  }
  const { createServer } = await import('vite');
  const appDir = join(repoRoot, 'apps', app);
  process.env['CARSHARE_GATEWAY_URL'] = gateway;
  const server = await createServer({ root: appDir, configFile: join(appDir, 'vite.config.ts') });
  await server.listen();
  server.printUrls();
  const stop = async () => {
    await server.close();
    platform?.kill('SIGTERM');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  if (args[0] === 'dev') {
    await dev(args[1]);
  } else {
    const named = args.filter((arg) => !arg.startsWith('--'));
    const unknown = named.filter((app) => !webApps().includes(app));
    if (unknown.length > 0) {
      process.stderr.write(`build-web: no web app ${unknown.join(', ')} (apps: ${webApps().join(', ')})\n`);
      process.exit(2);
    }
    const results = await ensureWebApps({ force: args.includes('--force'), apps: named.length > 0 ? named : webApps(), log: (line) => process.stdout.write(`${line}\n`) });
    for (const result of results) {
      process.stdout.write(result.built ? `build-web: built apps/${result.app} in ${result.ms} ms (${result.reason})\n` : `build-web: apps/${result.app} is up to date\n`);
    }
  }
}
