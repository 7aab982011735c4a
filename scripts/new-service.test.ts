import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServiceIdentitySigner, laptopServiceKeys, serviceIdentityHeader } from '@carshare/platform';
import { freePort, linkWorkspaces, scratchCopy } from '@carshare/testing';
import { generateService, nextFreePort, type GeneratedService } from './new-service.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const node = process.execPath;

/**
 * The environment of the commands run in the copy: no shared database (the embedded one is the
 * point here), and not this test runner's context, which would make a nested `node --test`
 * skip its files and pass having run nothing.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['NODE_TEST_CONTEXT', 'DATABASE_URL', 'AMQP_URL', 'REDIS_URL']) delete env[name];
  return env;
}

function runIn(root: string, args: string[], label: string): void {
  const result = spawnSync(node, args, { cwd: root, encoding: 'utf8', env: childEnv() });
  assert.equal(result.status, 0, `${label} failed:\n${result.stdout}\n${result.stderr}`);
}

function filesUnder(folder: string, suffix: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('npm run new-service', { timeout: 600_000 }, () => {
  let root: string;
  let generated: GeneratedService;

  let expectedPort: number;

  before(() => {
    root = scratchCopy(repoRoot, 'carshare-new-service-');
    expectedPort = nextFreePort(root);
    generated = generateService(root, 'zdemo');
    linkWorkspaces(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('registers the service with one line in the registry and one export in contracts', () => {
    const registry = readFileSync(join(root, 'apps/carshare/src/service-registry.ts'), 'utf8');
    assert.match(registry, /^ {2}zdemoDescriptor,$/m);
    assert.match(readFileSync(join(root, 'contracts/src/index.ts'), 'utf8'), /^export \* from '\.\/rpc\/zdemo\.ts';$/m);
    // The next port after every internal service's, whichever services exist by then.
    assert.equal(generated.names.port, expectedPort);
    assert.ok(expectedPort > 4001);
    assert.throws(() => generateService(root, 'zdemo'), /exists already/);
  });

  it('type-checks and lints clean as generated', () => {
    // One program over the new service and the registry, reaching the libraries through their
    // package exports (TypeScript sources): `tsc -b` would rebuild every project that depends on
    // contracts, which the generator touched, and take minutes here. Of that program, the new
    // service and contracts and the CLI's files (where the generator wrote or edited) are checked
    // whole, the libraries only as far as those use them (their own bodies are npm test's
    // type-check's): a full `tsc -p` spent ~40% of its ~17 s of CPU on library bodies.
    const checked = ['services/zdemo/', 'contracts/src/', 'apps/carshare/src/'].map((folder) => join(root, folder));
    const script = `
      import ts from 'typescript';
      const [configPath, ...folders] = process.argv.slice(1);
      const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\\n')); } });
      const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, configFileParsingDiagnostics: config.errors });
      const files = program.getSourceFiles().filter((file) => !file.isDeclarationFile && folders.some((folder) => file.fileName.startsWith(folder)));
      const diagnostics = [...program.getConfigFileParsingDiagnostics(), ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(),
        ...files.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])];
      console.log(files.length + ' files checked');
      if (diagnostics.length > 0) {
        console.error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (name) => name, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\\n' }));
        process.exitCode = 1;
      }
    `;
    writeFileSync(
      join(root, 'tsconfig.zdemo.json'),
      JSON.stringify({
        extends: './tsconfig.base.json',
        compilerOptions: { composite: false, declaration: false, emitDeclarationOnly: false, noEmit: true, rootDir: '.' },
        include: ['services/zdemo/src', 'contracts/src/rpc/zdemo.ts', 'apps/carshare/src/service-registry.ts'],
      }),
    );
    runIn(root, ['--input-type=module', '-e', script, join(root, 'tsconfig.zdemo.json'), ...checked], 'tsc');
    runIn(root, [join(root, 'node_modules/eslint/bin/eslint.js'), 'services/zdemo', 'contracts/src/rpc/zdemo.ts', 'apps/carshare/src/service-registry.ts', '--max-warnings', '0'], 'eslint');
  });

  it('passes its own tests', () => {
    const tests = filesUnder(join(root, 'services/zdemo'), '.test.ts');
    assert.ok(tests.length >= 3, `generated tests: ${tests.join(', ')}`);
    const run = spawnSync(node, ['--import', 'tsx', '--test', '--test-reporter=tap', ...tests], { cwd: root, encoding: 'utf8', env: childEnv() });
    assert.equal(run.status, 0, `its tests failed:\n${run.stdout}\n${run.stderr}`);
    // Counted, so that a run which found nothing to run cannot pass for one that passed.
    const passed = Number(/^# pass (\d+)$/m.exec(run.stdout)?.[1]);
    assert.ok(passed >= 10, `its tests ran: ${passed} passed\n${run.stdout}`);
  });

  it('starts with carshare up and answers its RPCs for a signed-in rider', async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'carshare-new-service-data-'));
    // No simulated fleet and the device gateway on a free port: this test is about the new service.
    const child = spawn(node, ['--import', 'tsx', 'apps/carshare/src/main.ts', 'up', '--no-simulator'], {
      cwd: root,
      env: childEnv({ CARSHARE_DATA_DIR: dataDir, GATEWAY_PORT: String(port), CAR_MQTT_PORT: '0', LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const started = await new Promise<string>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line in time:\n${output}`)), 120_000);
        child.stdout.on('data', () => {
          const services = /^carshare: services (.+)$/m.exec(output);
          if (services?.[1]) {
            clearTimeout(timer);
            resolvePromise(services[1]);
          }
        });
        child.once('exit', (code) => reject(new Error(`carshare up exited ${code}:\n${output}`)));
      });
      const zdemoUrl = /zdemo (http:\/\/\S+?)(,|$)/.exec(started)?.[1];
      assert.ok(zdemoUrl, `carshare up lists the new service: ${started}`);

      const login = await fetch(`http://127.0.0.1:${port}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'rider@carshare.local', password: 'rider-demo-pass' }),
      });
      assert.equal(login.status, 200);
      const { user } = (await login.json()) as { user: { id: string } };
      // The gateway's call for this rider, signed as the gateway with the laptop keys `carshare up` uses (ADR 0012).
      const identity = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('zdemo', { userId: user.id, role: 'rider', plan: 'free' });
      const call = (method: string, body: unknown, signed?: string) =>
        fetch(`${zdemoUrl}/rpc/zdemo/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(signed && { [serviceIdentityHeader]: signed }) },
          body: JSON.stringify(body),
        });
      const created = await call('CreateItem', { name: 'spare key' }, identity);
      assert.equal(created.status, 200, await created.clone().text());
      const item = (await created.json()) as { id: string; name: string };
      assert.equal(item.name, 'spare key');
      const listed = (await (await call('ListItems', { limit: 10 }, identity)).json()) as { items: { id: string }[] };
      assert.deepEqual(listed.items.map((listedItem) => listedItem.id), [item.id]);
      const anonymous = await call('CreateItem', { name: 'x' });
      assert.equal(anonymous.status, 401);
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((resolvePromise) => child.once('exit', resolvePromise));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
