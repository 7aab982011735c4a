import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** bench/peers: its own package (not a workspace), so the root install and `npm start` never see it. */
export const peersDir = resolve(import.meta.dirname, '..', '..', 'peers');

/**
 * Installs the peers' pinned dependencies (`npm ci` from bench/peers/package-lock.json) when
 * bench/peers/node_modules is missing or older than the lock file. ~15 s the first time.
 */
export function ensurePeersInstalled(progress: (message: string) => void): void {
  const lock = join(peersDir, 'package-lock.json');
  const installed = join(peersDir, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  progress('installing the peers (npm ci in bench/peers; once)');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: peersDir, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm ci in ${peersDir} failed (${result.error?.message ?? `exit ${result.status}`})`);
}
