/**
 * `npm run new-service <name>`: lays down a service with the shape of every other one
 * (scripts/service-template), registers it, and links it, so that it builds, lints, passes its
 * own tests and starts with `carshare up` without another edit. docs/adding-a-service.md says
 * what to fill in afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const templateDir = resolve(import.meta.dirname, 'service-template');

export interface ServiceNames {
  /** `fleet`: folder, schema, RPC path segment. */
  name: string;
  /** `Fleet`: type names. */
  pascal: string;
  /** `FLEET`: environment variable prefix. */
  upper: string;
  port: number;
}

const namePattern = /^[a-z][a-z0-9]{1,29}$/;

export function serviceNames(name: string, port: number): ServiceNames {
  if (!namePattern.test(name)) throw new Error(`a service name is 2 to 30 lower-case letters and digits, starting with a letter: '${name}'`);
  return { name, pascal: name[0]?.toUpperCase() + name.slice(1), upper: name.toUpperCase(), port };
}

function render(text: string, names: ServiceNames): string {
  return text
    .replaceAll('__name__', names.name)
    .replaceAll('__Name__', names.pascal)
    .replaceAll('__NAME__', names.upper)
    .replaceAll('__PORT__', String(names.port));
}

function templateFiles(folder: string = templateDir): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? templateFiles(join(folder, entry.name)) : entry.name.endsWith('.tmpl') ? [join(folder, entry.name)] : [],
  );
}

/** Internal services take ports from 4001 up, in order of creation; the gateway has 8080. */
export function nextFreePort(root: string): number {
  const taken = readdirSync(join(root, 'services'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, 'services', entry.name, 'src', 'config.ts'))
    .filter((path) => existsSync(path))
    .map((path) => Number(/const defaultPort = (\d+);/.exec(readFileSync(path, 'utf8'))?.[1]))
    .filter((port) => port >= 4000 && port < 5000);
  return Math.max(4000, ...taken) + 1;
}

/** Inserts `line` before the first line matching `before`, once (a second run changes nothing). */
function insertLine(path: string, line: string, before: RegExp): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.includes(line)) return;
  const at = lines.findIndex((candidate) => before.test(candidate));
  if (at < 0) throw new Error(`${path}: no line matches ${before}; add '${line.trim()}' by hand`);
  lines.splice(at, 0, line);
  writeFileSync(path, lines.join('\n'));
}

function addReference(tsconfigPath: string, referencePath: string): void {
  const tsconfig = JSON.parse(readFileSync(tsconfigPath, 'utf8')) as { references?: { path: string }[] };
  const references = tsconfig.references ?? [];
  if (references.some((reference) => reference.path === referencePath)) return;
  // Before the apps and test projects, which depend on the services.
  const at = references.findIndex((reference) => /apps\/|bench|e2e|scripts/.test(reference.path));
  references.splice(at < 0 ? references.length : at, 0, { path: referencePath });
  writeFileSync(tsconfigPath, `${JSON.stringify({ ...tsconfig, references }, null, 2)}\n`);
}

function addDependency(packageJsonPath: string, dependency: string): void {
  const manifest = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { dependencies?: Record<string, string> };
  manifest.dependencies = { ...manifest.dependencies, [dependency]: '*' };
  writeFileSync(packageJsonPath, `${JSON.stringify(manifest, null, 2)}\n`);
}

export interface GeneratedService {
  names: ServiceNames;
  /** Files written, relative to the root. */
  created: string[];
  /** Files outside the service's folder that gained its line. */
  edited: string[];
}

/** Writes the service and its registrations under `root`; installs nothing (see main). */
export function generateService(root: string, name: string): GeneratedService {
  const names = serviceNames(name, nextFreePort(root));
  const serviceDir = join(root, 'services', name);
  if (existsSync(serviceDir)) throw new Error(`services/${name} exists already`);
  const registryPath = join(root, 'apps', 'carshare', 'src', 'service-registry.ts');
  if (readFileSync(registryPath, 'utf8').includes(`${name}Descriptor`)) throw new Error(`${name} is registered already`);

  const created: string[] = [];
  for (const template of templateFiles()) {
    const target = join(root, render(relative(templateDir, template), names).replace(/\.tmpl$/, ''));
    if (existsSync(target)) throw new Error(`${relative(root, target)} exists already`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, render(readFileSync(template, 'utf8'), names));
    created.push(relative(root, target));
  }

  const packageName = `@carshare/${name}-service`;
  insertLine(join(root, 'contracts', 'src', 'index.ts'), `export * from './rpc/${name}.ts';`, /^export \* from '\.\/http\//);
  insertLine(registryPath, `import { ${name}Descriptor } from '${packageName}';`, /^import \{ ServiceRegistry \}/);
  insertLine(registryPath, `  ${name}Descriptor,`, /^\]\);/);
  addDependency(join(root, 'apps', 'carshare', 'package.json'), packageName);
  addReference(join(root, 'apps', 'carshare', 'tsconfig.json'), `../../services/${name}`);
  addReference(join(root, 'tsconfig.json'), `./services/${name}`);
  const edited = ['contracts/src/index.ts', 'apps/carshare/src/service-registry.ts', 'apps/carshare/package.json', 'apps/carshare/tsconfig.json', 'tsconfig.json'];
  return { names, created, edited };
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

async function main(argv: string[]): Promise<void> {
  const [name] = argv.filter((arg) => !arg.startsWith('-'));
  if (!name || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('npm run new-service <name>   a service with the shape of every other, registered and linked\n');
    process.exit(name ? 0 : 2);
  }
  const root = resolve(import.meta.dirname, '..');
  const generated = generateService(root, name);
  process.stdout.write(`new-service: wrote ${generated.created.length} files under services/${name} and contracts/src/rpc/${name}.ts (port ${generated.names.port})\n`);
  process.stdout.write(`new-service: registered it in ${generated.edited.join(', ')}\n`);
  // Links the new workspace package (and records it in package-lock.json).
  run('npm', ['install', '--no-audit', '--no-fund'], root);
  // contracts/schema derives from the registry: regenerate so the staleness test stays green.
  run('npm', ['run', 'gen'], root);
  process.stdout.write(`new-service: done. Next: docs/adding-a-service.md; npm test -- services/${name}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`new-service: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
