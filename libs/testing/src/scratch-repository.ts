import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A scratch copy of the repository at `repoRoot`: the files git knows (committed or not ignored,
 * so no dist/ and no data), and node_modules folders of links to the real ones, with the
 * workspace packages pointing into the copy. A start there builds its own bundle, and services
 * generated there (scripts/new-service.ts) stay out of the working tree.
 */
export function scratchCopy(repoRoot: string, prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  for (const file of listed.split('\0').filter(Boolean)) {
    let isFile = false;
    try {
      isFile = statSync(join(repoRoot, file)).isFile();
    } catch {
      continue; // deleted in the working tree, not yet in a commit
    }
    if (!isFile) continue;
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(repoRoot, file), join(root, file), { preserveTimestamps: true });
  }
  linkNodeModules(repoRoot, root);
  return root;
}

function workspaceFolders(root: string): string[] {
  const patterns = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${parent}/${entry.name}`);
  });
}

function linkNodeModules(repoRoot: string, root: string): void {
  const modules = join(root, 'node_modules');
  mkdirSync(join(modules, '@carshare'), { recursive: true });
  for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
    if (entry !== '@carshare') symlinkSync(join(repoRoot, 'node_modules', entry), join(modules, entry));
  }
  linkWorkspaces(root);
  // Packages a workspace pins to another version than the root's live in its own node_modules.
  for (const workspace of workspaceFolders(repoRoot)) {
    const own = join(repoRoot, workspace, 'node_modules');
    try {
      if (statSync(own).isDirectory()) symlinkSync(own, join(root, workspace, 'node_modules'));
    } catch {
      // none
    }
  }
}

/** Links every workspace package of the copy into its node_modules/@carshare (again after a generator added one). */
export function linkWorkspaces(root: string): void {
  for (const workspace of workspaceFolders(root)) {
    const manifest = join(root, workspace, 'package.json');
    let name: string;
    try {
      name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }).name;
    } catch {
      continue;
    }
    try {
      symlinkSync(join(root, workspace), join(root, 'node_modules', name));
    } catch {
      // linked already
    }
  }
}
