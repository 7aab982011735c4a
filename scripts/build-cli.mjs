// Bundles the CLI (every @carshare/* package and the third-party code it loads) into
// dist/carshare.mjs, so that `npm start` runs on plain Node: loading through tsx's hooks cost ~2 s
// of a warm start here, and loading ~140 external packages file by file (resolution, stats,
// package.json reads, one compile each) ~0.6 s more than one bundle does (1.0 s → 0.4 s).
//
// The bundle is rebuilt only when one of its inputs changed: esbuild's metafile lists every file
// it read; a stamp next to the bundle records their sizes, mtimes and content hashes, plus this
// script and package-lock.json. A clean clone builds once; a touched but unchanged file costs one
// hash, not a build. The ~1900 files under node_modules are stood for by the lockfiles: npm
// rewrites node_modules/.package-lock.json whenever it changes that tree, and checking it instead
// of each file takes the check from ~35 to ~5 ms (a file edited by hand there needs `--force`).
//
// `node scripts/build-cli.mjs` builds when stale (`--force`: always); scripts/start.mjs imports
// `ensureCliBundle` and runs the bundle in the same process.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(import.meta.url);
export const repoRoot = join(dirname(here), '..');
export const bundlePath = join(repoRoot, 'dist', 'carshare.mjs');
const stampPath = `${bundlePath}.stamp.json`;
/** Bump when the stamp's shape changes: an old stamp then reads as stale. */
const stampFormat = 4;

/**
 * Packages left outside the bundle, loaded by Node from node_modules as before, each for a reason
 * a bundle would break:
 * - files of their own at run time: PGlite's WebAssembly and data files, swagger-ui's and
 *   @fastify/static's assets, @fastify/swagger's and ioredis' own package.json (via __dirname);
 * - native addons: @node-rs/argon2, sharp (its platform binary is found by dynamic require);
 * - worker threads that load modules by file: pino's transports (thread-stream), pino-pretty.
 * A package added later that does any of these belongs here too (`npm run bench -- startup`
 * starts the bundle, logs in and fetches /docs).
 */
export const externalPackages = [
  '@electric-sql/pglite',
  '@node-rs/argon2',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  '@fastify/static',
  'ioredis',
  'pino',
  'pino-pretty',
  'thread-stream',
  'tesseract.js',
  'sharp',
  // pdfkit reads its standard fonts' metrics (.afm) from its own folder.
  'pdfkit',
  // etcd3's gRPC client loads its .proto definitions from its own folder.
  'etcd3',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
];
const resolvingExternal = Symbol('resolving an external');

function isExternal(specifier) {
  return externalPackages.some((name) => specifier === name || specifier.startsWith(`${name}/`));
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Files whose change means a rebuild even though esbuild does not list them: this script, npm's
 * lockfiles (standing for node_modules), and the package.json of the root and of every workspace,
 * whose `exports`, `main` or dependencies decide what an import resolves to.
 */
function extraInputs() {
  const root = join(repoRoot, 'package.json');
  const manifests = [root];
  try {
    for (const pattern of JSON.parse(readFileSync(root, 'utf8')).workspaces ?? []) {
      const folders = pattern.endsWith('/*')
        ? readdirSync(join(repoRoot, pattern.slice(0, -2)), { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => join(repoRoot, pattern.slice(0, -2), entry.name))
        : [join(repoRoot, pattern)];
      manifests.push(...folders.map((folder) => join(folder, 'package.json')));
    }
  } catch {
    // no workspaces to add
  }
  return [here, join(repoRoot, 'package-lock.json'), join(repoRoot, 'node_modules', '.package-lock.json'), ...manifests].filter((file) => existsSync(file));
}

function readStamp() {
  try {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8'));
    return stamp.format === stampFormat ? stamp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether dist/carshare.mjs was built from the files as they are now. Size and mtime equal → the
 * same; otherwise the content hash decides (a checkout or `touch` changes mtimes only), and the
 * stamp is refreshed so the next check is cheap again.
 */
export function cliBundleIsFresh() {
  const stamp = readStamp();
  if (!stamp) return { fresh: false, reason: existsSync(stampPath) ? 'the stamp is from another build script' : 'never built here' };
  let refreshed = false;
  for (const [path, recorded] of [[relative(repoRoot, bundlePath), stamp.bundle], ...Object.entries(stamp.inputs)]) {
    const file = resolve(repoRoot, path);
    let stats;
    try {
      stats = statSync(file);
    } catch {
      return { fresh: false, reason: `${path} is gone` };
    }
    if (stats.size === recorded.size && stats.mtimeMs === recorded.mtimeMs) continue;
    if (stats.size !== recorded.size || sha256(file) !== recorded.sha256) return { fresh: false, reason: `${path} changed` };
    recorded.mtimeMs = stats.mtimeMs;
    refreshed = true;
  }
  if (refreshed) writeAtomically(stampPath, `${JSON.stringify(stamp)}\n`);
  return { fresh: true, reason: 'inputs unchanged' };
}

// Written beside the target and renamed over it: a concurrent start never loads half a bundle.
function writeAtomically(file, contents) {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, file);
}

/**
 * The esbuild options of every bundle of the CLI (this one for `npm start`, the release's in
 * build-release.mjs): they differ only in where the output goes and how packages stay external.
 */
export function bundleOptions() {
  return {
    absWorkingDir: repoRoot,
    entryPoints: [join(repoRoot, 'apps/carshare/src/main.ts')],
    metafile: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Linked, without the sources (they are in the repository): Node reads the map only for a
    // stack trace. Inline, with sources, it cost ~0.4 s of every start (the map is parsed at load).
    sourcemap: 'linked',
    sourcesContent: false,
    // Bundled CommonJS packages require Node's built-ins; an ES module has no `require` of its own.
    banner: { js: "import { createRequire as __carshareCreateRequire } from 'node:module'; const require = __carshareCreateRequire(import.meta.url);" },
    // Resolve the way Node does: `main`, and no bundler-only `module` condition, whose ESM builds
    // (e.g. @opentelemetry/api's) use extensionless imports Node cannot load.
    mainFields: ['main'],
    conditions: [],
    logLevel: 'warning',
  };
}

/** Builds dist/carshare.mjs (+ .map) and its stamp. */
export async function buildCli() {
  // Only a build pays for loading esbuild.
  const { build, stop } = await import('esbuild');
  // npm start runs the platform in this process after building: esbuild's service child (~270 MB
  // RSS) would otherwise live as long as the platform does.
  const result = await build({
    ...bundleOptions(),
    outfile: bundlePath,
    write: false,
    plugins: [
      {
        name: 'external-packages',
        setup(builder) {
          // Pinned to the exact file Node would load for the importing package (workspaces may
          // hold different versions of one package).
          builder.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.pluginData === resolvingExternal || !isExternal(args.path)) return undefined;
            const resolved = await builder.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: resolvingExternal });
            if (resolved.errors.length > 0) return undefined;
            return { path: resolved.path, external: true };
          });
        },
      },
    ],
  }).finally(() => stop());
  for (const output of result.outputFiles) writeAtomically(output.path, output.contents);
  const inputs = {};
  const read = Object.keys(result.metafile.inputs).map((path) => resolve(repoRoot, path));
  const files = [...read.filter((file) => !file.includes(`${sep}node_modules${sep}`)), ...extraInputs()];
  for (const file of files) {
    const stats = statSync(file);
    inputs[relative(repoRoot, file)] = { size: stats.size, mtimeMs: stats.mtimeMs, sha256: sha256(file) };
  }
  const bundleStats = statSync(bundlePath);
  const bundle = { size: bundleStats.size, mtimeMs: bundleStats.mtimeMs, sha256: sha256(bundlePath) };
  writeAtomically(stampPath, `${JSON.stringify({ format: stampFormat, builtAt: new Date().toISOString(), bundle, inputs })}\n`);
  return { inputs: read.length };
}

/** Builds when stale; says why it built. */
export async function ensureCliBundle({ force = false } = {}) {
  const started = performance.now();
  const check = force ? { fresh: false, reason: 'forced' } : cliBundleIsFresh();
  const checkMs = performance.now() - started;
  if (check.fresh) return { built: false, reason: check.reason, checkMs, buildMs: 0 };
  const built = await buildCli();
  return { built: true, reason: check.reason, checkMs, buildMs: performance.now() - started - checkMs, inputs: built.inputs };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const result = await ensureCliBundle({ force: process.argv.includes('--force') });
  process.stdout.write(
    result.built
      ? `build-cli: built dist/carshare.mjs from ${result.inputs} files in ${Math.round(result.buildMs)} ms (${result.reason})\n`
      : `build-cli: dist/carshare.mjs is up to date (checked in ${Math.round(result.checkMs)} ms)\n`,
  );
}
