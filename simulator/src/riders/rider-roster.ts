import { join } from 'node:path';
import { readPrivateJson, writePrivateJson } from '../private-json-file.ts';

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
 * on every start. It holds passwords, so it is a private file.
 */
export class RiderRoster {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'simulator', 'riders.json');
  }

  async load(): Promise<RiderIdentity[]> {
    const file = (await readPrivateJson(this.path)) as RosterFile | undefined;
    if (file === undefined) return [];
    if (file.version !== 1 || !Array.isArray(file.riders)) throw new Error(`${this.path} is not a rider roster this simulator knows (version ${String(file.version)})`);
    return file.riders;
  }

  async save(riders: readonly RiderIdentity[]): Promise<void> {
    await writePrivateJson(this.path, { version: 1, riders: [...riders] } satisfies RosterFile);
  }
}
