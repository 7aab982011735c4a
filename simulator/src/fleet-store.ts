import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FleetCar } from './fleet-simulator.ts';

interface FleetFile {
  version: 1;
  cars: FleetCar[];
}

/**
 * `<dataDir>/simulator/fleet.json`: the simulated cars' ids, device secrets (issued once by the
 * car service, so losing them orphans the cars) and last states. Written whole to a temporary
 * file and renamed, so a crash mid-write leaves the previous version, never half a file; readable
 * by its owner only, since it holds credentials.
 */
export class FleetStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'simulator', 'fleet.json');
  }

  async load(): Promise<FleetCar[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const file = JSON.parse(text) as FleetFile;
    if (file.version !== 1 || !Array.isArray(file.cars)) throw new Error(`${this.path} is not a fleet file this simulator knows (version ${String(file.version)})`);
    return file.cars;
  }

  async save(cars: readonly FleetCar[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    // Unique per save: the periodic save and the one at shutdown may overlap, and a shared
    // temporary name let the first rename take the second's file (ENOENT, a crash on SIGTERM).
    const temporary = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ version: 1, cars: [...cars] } satisfies FleetFile)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }
}
