/** `npm run gen`: writes contracts/schema from the TypeBox contracts (JSON Schema + OpenAPI), and the deploy files from the registry. */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { renderContractArtifacts, schemaDir } from './contract-artifacts.ts';
import { renderDeployArtifacts, repoRoot } from './deploy-artifacts.ts';
import { browserContractsPath, renderBrowserContracts } from './browser-contracts.ts';

function listFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(schemaDir, join(entry.parentPath, entry.name)));
}

const files = await renderContractArtifacts();
mkdirSync(schemaDir, { recursive: true });
for (const stale of listFiles(schemaDir)) if (!files.has(stale)) rmSync(join(schemaDir, stale));
for (const [path, content] of files) {
  mkdirSync(dirname(join(schemaDir, path)), { recursive: true });
  writeFileSync(join(schemaDir, path), content);
}
process.stdout.write(`wrote ${files.size} files to ${relative(process.cwd(), schemaDir)}\n`);

// The deploy files come from the same registry: a new service is deployed without hand-written YAML.
const deployFiles = renderDeployArtifacts();
for (const [path, content] of deployFiles) {
  mkdirSync(dirname(join(repoRoot, path)), { recursive: true });
  writeFileSync(join(repoRoot, path), content);
}
process.stdout.write(`wrote ${deployFiles.size} files to deploy/k8s and compose.yaml\n`);

writeFileSync(join(repoRoot, browserContractsPath), renderBrowserContracts());
process.stdout.write(`wrote ${browserContractsPath}\n`);
