// `npm run build`: the whole platform as one Node program plus its production dependencies, in
// dist/release, which is all a deployment needs (the Dockerfile copies it; `node carshare.mjs
// service <name>` runs any service, `node carshare.mjs up` all of them in one process).
//
// Unlike dist/carshare.mjs (scripts/build-cli.mjs, for `npm start` in the repository), the release
// bundle names its external packages by bare specifier, so that it loads them from its own
// node_modules wherever it is copied; `npm install --omit=dev` fills that from a package.json
// written here with the versions this repository is tested with. The workspace packages whose
// files are read at run time (SQL migrations, found through their package.json) are copied in
// after the install, which would otherwise prune them as extraneous.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { bundleOptions, externalPackages, repoRoot } from './build-cli.mjs';

export const releaseDir = join(repoRoot, 'dist', 'release');

/** Packages resolved by path at run time rather than imported (tesseract's model files). */
const resolvedAtRunTime = ['@tesseract.js-data/eng'];

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function workspaceFolders() {
  const folders = [];
  for (const pattern of readJson(join(repoRoot, 'package.json')).workspaces ?? []) {
    if (!pattern.endsWith('/*')) {
      folders.push(join(repoRoot, pattern));
      continue;
    }
    const parent = join(repoRoot, pattern.slice(0, -2));
    for (const entry of readdirSync(parent, { withFileTypes: true })) if (entry.isDirectory()) folders.push(join(parent, entry.name));
  }
  return folders.filter((folder) => existsSync(join(folder, 'package.json')));
}

function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The version installed here, looked up in the root's node_modules and then in every workspace's
 * (hoisting may differ). Read from the folder, not through `require.resolve`: packages whose
 * `exports` hide their package.json (PGlite's) cannot be resolved that way.
 */
function installedVersion(name, folders) {
  for (const folder of [repoRoot, ...folders]) {
    const manifest = join(folder, 'node_modules', ...name.split('/'), 'package.json');
    if (existsSync(manifest)) return readJson(manifest).version;
  }
  return undefined;
}

export async function buildRelease({ outDir = releaseDir, install = true, say = (line) => process.stdout.write(`${line}\n`) } = {}) {
  const { build, stop } = await import('esbuild');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    ...bundleOptions(),
    outfile: join(outDir, 'carshare.mjs'),
    external: externalPackages.flatMap((name) => [name, `${name}/*`]),
  }).finally(() => stop());

  const folders = workspaceFolders();
  const imported = new Set(resolvedAtRunTime);
  for (const output of Object.values(result.metafile.outputs)) {
    for (const { path, external } of output.imports) if (external && !path.startsWith('node:') && !builtinModules.includes(packageNameOf(path))) imported.add(packageNameOf(path));
  }
  // A package imported but installed nowhere here is an optional one, required inside a try
  // (ws' bufferutil): the repository runs without it, so does the release.
  const dependencies = Object.fromEntries(
    [...imported]
      .sort()
      .map((name) => [name, installedVersion(name, folders)])
      .filter(([, version]) => version !== undefined),
  );
  const root = readJson(join(repoRoot, 'package.json'));
  writeFileSync(
    join(outDir, 'package.json'),
    `${JSON.stringify({ name: 'carshare-release', version: root.version, private: true, type: 'module', engines: root.engines, bin: { carshare: './carshare.mjs' }, dependencies }, null, 2)}\n`,
  );
  say(`build-release: bundled ${Object.keys(result.metafile.inputs).length} files into ${relative(repoRoot, join(outDir, 'carshare.mjs')) || outDir}; ${Object.keys(dependencies).length} packages stay external`);

  if (install) {
    // The exact versions tested here; npm's cache makes this an offline copy on a machine that ran `npm install`.
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', '--loglevel=error'], { cwd: outDir, stdio: ['ignore', 'inherit', 'inherit'] });
  }

  // Workspace packages the bundle resolves at run time: their package.json (for require.resolve)
  // and the files next to it that code reads (migrations) or starts (worker threads), nothing else.
  for (const folder of folders) {
    const manifest = readJson(join(folder, 'package.json'));
    if (!manifest.name?.startsWith('@carshare/')) continue;
    const target = join(outDir, 'node_modules', ...manifest.name.split('/'));
    mkdirSync(target, { recursive: true });
    writeFileSync(join(target, 'package.json'), `${JSON.stringify({ name: manifest.name, version: manifest.version, private: true, type: 'module', exports: { './package.json': './package.json' } }, null, 2)}\n`);
    for (const folderRead of ['migrations', 'worker']) {
      if (existsSync(join(folder, folderRead))) cpSync(join(folder, folderRead), join(target, folderRead), { recursive: true });
    }
  }
  return { outDir, dependencies };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : releaseDir;
  await buildRelease({ outDir, install: !process.argv.includes('--no-install') });
  process.stdout.write(`build-release: ${relative(process.cwd(), outDir) || '.'} is ready: node ${join(relative(process.cwd(), outDir) || '.', 'carshare.mjs')} service <name>\n`);
}
