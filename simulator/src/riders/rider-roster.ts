import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface RiderIdentity {
  email: string;
  password: string;
  displayName: string;
}

interface RosterFile {
  version: 1;
  riders: RiderIdentity[];
}

/**
 * `<dataDir>/simulator/riders.json`: the simulated riders' logins, so a restarted simulator
 * reuses the accounts (and their verified licences and cards) instead of signing up a new crowd
 * on every start. Written whole and renamed, owner-readable only: it holds passwords.
 */
export class RiderRoster {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'simulator', 'riders.json');
  }

  async load(): Promise<RiderIdentity[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const file = JSON.parse(text) as RosterFile;
    if (file.version !== 1 || !Array.isArray(file.riders)) throw new Error(`${this.path} is not a rider roster this simulator knows (version ${String(file.version)})`);
    return file.riders;
  }

  async save(riders: readonly RiderIdentity[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ version: 1, riders: [...riders] } satisfies RosterFile)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }
}
