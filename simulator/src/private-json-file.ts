import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The simulator's state files (fleet.json, riders.json) hold credentials: readable by their owner
 * only, in a folder only the owner can enter. Written whole to a temporary file and renamed, so a
 * crash mid-write leaves the previous version, never half a file.
 */

/** The parsed file, or undefined when there is none yet. */
export async function readPrivateJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as unknown;
}

export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Unique per write: a periodic save and the one at shutdown may overlap, and a shared temporary
  // name let the first rename take the second's file (ENOENT, a crash on SIGTERM).
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}
