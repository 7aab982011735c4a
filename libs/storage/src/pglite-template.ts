import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A new PGlite cluster runs initdb in WebAssembly: ~1.4 s of CPU here, against ~0.3 s to unpack
 * the same freshly initialised cluster from a tarball. Tests open hundreds of fresh clusters (each
 * in-memory test database, each embedded platform in a scratch folder), so the first one made on
 * a machine is kept, per user and per PGlite build, and later ones start from it. The tarball is
 * taken before anything but initdb touched the cluster, so a cluster made from it is the one
 * initdb would have made. A missing, unreadable or unwritable cache only costs the initdb.
 */
const cacheFolder = join(homedir(), '.cache', 'carshare');

let cachedPath: Promise<string | undefined> | undefined;

/** Named after the installed PGlite build (size and time of its module), so an upgrade makes a new one. */
function templatePath(): Promise<string | undefined> {
  cachedPath ??= (async () => {
    try {
      const module = await stat(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
      return join(cacheFolder, `pglite-template-${module.size}-${Math.round(module.mtimeMs)}.tar`);
    } catch {
      return undefined;
    }
  })();
  return cachedPath;
}

/** The kept tarball of a fresh cluster, if this machine has one. */
export async function readPgliteTemplate(): Promise<Uint8Array | undefined> {
  const path = await templatePath();
  if (path === undefined) return undefined;
  try {
    const bytes = await readFile(path);
    return bytes.byteLength > 0 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the tarball of a cluster initdb has just made (nothing else done to it yet) as the template. */
export async function keepPgliteTemplate(fresh: Uint8Array): Promise<void> {
  const path = await templatePath();
  if (path === undefined) return;
  // Written aside and renamed into place: a process reading it sees all of it or none.
  const partial = `${path}.${process.pid}-${Math.floor(Math.random() * 1e9)}`;
  try {
    await mkdir(cacheFolder, { recursive: true });
    await writeFile(partial, fresh, { mode: 0o600 });
    await rename(partial, path);
  } catch {
    await rm(partial, { force: true }).catch(() => undefined);
  }
}
