import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { serviceRegistry } from './service-registry.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const serviceFolders = readdirSync(join(repoRoot, 'services'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** The parts every service has (DESIGN §2), so a newcomer who knows one knows all. */
function layoutOf(name: string): string[] {
  const folder = join(repoRoot, 'services', name);
  const parts = [
    'README.md',
    'package.json',
    'tsconfig.json',
    'src/index.ts',
    'src/config.ts',
    'src/descriptor.ts',
    'src/module.ts',
    'src/ports.ts',
    `src/${name}-service.ts`,
    'src/domain/',
    'src/adapters/',
    'src/api/',
  ];
  return parts.filter((part) => (part.endsWith('/') ? isFolder(join(folder, part)) : existsSync(join(folder, part))));
}

describe('the service registry and the tree agree', () => {
  it('registers exactly the services that have a folder, each under its folder name', () => {
    assert.deepEqual(serviceRegistry.names().sort(), serviceFolders);
    for (const name of serviceFolders) {
      const manifest = JSON.parse(readFileSync(join(repoRoot, 'services', name, 'package.json'), 'utf8')) as { name: string };
      assert.equal(manifest.name, `@carshare/${name}-service`);
    }
  });

  it('gives every service the same folder layout', () => {
    const [first] = serviceFolders;
    assert.ok(first);
    const expected = layoutOf(first).map((part) => part.replace(`${first}-service`, '<name>-service'));
    for (const name of serviceFolders) {
      assert.deepEqual(layoutOf(name).map((part) => part.replace(`${name}-service`, '<name>-service')), expected, `services/${name}`);
      assert.equal(existsSync(join(repoRoot, 'services', name, 'src', 'main.ts')), false, `services/${name}: carshare service ${name} runs it, no main.ts`);
    }
    assert.equal(expected.length, 12, `every part of the layout is in services/${first}: ${expected.join(', ')}`);
  });

  it('has migrations exactly where a descriptor declares a database', () => {
    for (const descriptor of serviceRegistry.all) {
      assert.equal(isFolder(join(repoRoot, 'services', descriptor.name, 'migrations')), descriptor.migrationsDir !== undefined, descriptor.name);
    }
  });

  it('serves each RPC contract under its own service name', () => {
    for (const descriptor of serviceRegistry.all) {
      if (descriptor.rpc) assert.equal(descriptor.rpc.service, descriptor.name);
    }
  });

  it('references every workspace package from the root tsconfig, and nothing else', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] };
    const workspaces = manifest.workspaces.flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(join(repoRoot, pattern.slice(0, -2)), { withFileTypes: true })
            .filter((entry) => entry.isDirectory() && existsSync(join(repoRoot, pattern.slice(0, -2), entry.name, 'tsconfig.json')))
            .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
        : [pattern],
    );
    const tsconfig = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { references: { path: string }[] };
    const referenced = tsconfig.references.map((reference) => reference.path.replace(/^\.\//, '')).filter((path) => path !== 'scripts');
    assert.deepEqual(referenced.sort(), workspaces.sort());
  });
});
