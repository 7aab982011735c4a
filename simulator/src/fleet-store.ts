import { join } from 'node:path';
import type { FleetCar } from './fleet-simulator.ts';
import { readPrivateJson, writePrivateJson } from './private-json-file.ts';

interface FleetFile {
  version: 1;
  cars: FleetCar[];
}

/**
 * `<dataDir>/simulator/fleet.json`: the simulated cars' ids, device secrets (issued once by the
 * car service, so losing them orphans the cars) and last states.
 */
export class FleetStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'simulator', 'fleet.json');
  }

  async load(): Promise<FleetCar[]> {
    const file = (await readPrivateJson(this.path)) as FleetFile | undefined;
    if (file === undefined) return [];
    if (file.version !== 1 || !Array.isArray(file.cars)) throw new Error(`${this.path} is not a fleet file this simulator knows (version ${String(file.version)})`);
    return file.cars;
  }

  async save(cars: readonly FleetCar[]): Promise<void> {
    await writePrivateJson(this.path, { version: 1, cars: [...cars] } satisfies FleetFile);
  }
}
