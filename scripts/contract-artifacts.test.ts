import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';
import { readCommitted, renderContractArtifacts, schemaDir } from './contract-artifacts.ts';

it('committed contracts/schema matches the TypeBox contracts (run `npm run gen` when this fails)', async () => {
  const expected = await renderContractArtifacts();
  for (const [path, content] of expected) {
    assert.equal(readCommitted(path), content, `contracts/schema/${path} is stale or missing`);
  }
  const committed = readdirSync(schemaDir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(schemaDir, join(entry.parentPath, entry.name)));
  assert.deepEqual(committed.filter((path) => !expected.has(path)), [], 'files in contracts/schema that no contract produces');
});
