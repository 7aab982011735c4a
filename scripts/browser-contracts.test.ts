import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './contract-artifacts.ts';
import { browserContractsPath, renderBrowserContracts } from './browser-contracts.ts';

/** The specifiers a module loads at run time (`import type` and `export type` are erased). */
function runtimeSpecifiers(source: string): string[] {
  return [...source.matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1] ?? '');
}

describe('the browser build of @carshare/contracts', () => {
  it('is what the contracts generate (run `npm run gen` when this fails)', () => {
    assert.equal(readFileSync(join(repoRoot, browserContractsPath), 'utf8'), renderBrowserContracts(), `${browserContractsPath} is stale`);
  });

  it('is what a browser resolves, and loads no package (TypeBox stays on the server)', () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'contracts', 'package.json'), 'utf8')) as { exports: { '.': { browser: string } } };
    const entry = resolve(repoRoot, 'contracts', manifest.exports['.'].browser);
    const seen = new Set<string>();
    const pending = [entry];
    while (pending.length > 0) {
      const file = pending.pop() ?? '';
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of runtimeSpecifiers(readFileSync(file, 'utf8'))) {
        assert.ok(specifier.startsWith('.'), `${file} loads '${specifier}' at run time`);
        pending.push(resolve(dirname(file), specifier));
      }
    }
    assert.ok(seen.has(join(repoRoot, browserContractsPath)), 'the browser entry serves the generated data');
  });
});
