import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Conflict } from '@carshare/platform';

const lockFileName = 'carshare-sql.lock';
const lockedInThisProcess = new Set<string>();

export type UnlockDataDir = () => Promise<void>;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function inUse(dataDir: string, by: string): Error {
  return Conflict(
    'DATA_DIR_IN_USE',
    `the SQL data dir ${dataDir} is already open ${by}; PGlite corrupts a data dir opened twice (delete ${lockFileName} there if that process is gone)`,
    { dataDir },
  );
}

/**
 * PGlite neither refuses nor detects a second instance on the same data dir (its postmaster.pid
 * is not checked), so two `carshare` commands on one ./data would corrupt it. A pid file guards
 * across processes, a set within this one.
 */
export async function lockDataDir(dataDir: string): Promise<UnlockDataDir> {
  if (lockedInThisProcess.has(dataDir)) throw inUse(dataDir, 'in this process');
  const lockPath = join(dataDir, lockFileName);
  const ownPid = String(process.pid);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lockPath, ownPid, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) throw inUse(dataDir, `by process ${holder}`);
    // Left behind by a process that died: take it over.
    await unlink(lockPath).catch(() => undefined);
  }
  lockedInThisProcess.add(dataDir);
  return async () => {
    lockedInThisProcess.delete(dataDir);
    const holder = await readFile(lockPath, 'utf8').catch(() => '');
    if (holder === ownPid) await unlink(lockPath).catch(() => undefined);
  };
}

/**
 * A cluster unpacked from a template tarball brings the lock file of the folder the template was
 * taken from, naming a process long gone: written over at once, or a second process would take
 * the folder as abandoned while this one has it open.
 */
export async function reclaimDataDirLock(dataDir: string): Promise<void> {
  await writeFile(join(dataDir, lockFileName), String(process.pid));
}
