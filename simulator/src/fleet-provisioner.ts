import { seededRandom, type StreetNetwork } from '@carshare/city';
import { placeCar } from './domain/car-placement.ts';
import { PlateTaken, type CarRegistrar, type NewCar } from './car-registrar.ts';
import type { FleetCar } from './fleet-simulator.ts';
import type { FleetStore } from './fleet-store.ts';

const models: readonly Omit<NewCar, 'plate' | 'vin' | 'position'>[] = [
  { model: 'VW ID.3', category: 'compact', seats: 5, fuelType: 'electric' },
  { model: 'Renault Zoe', category: 'small', seats: 5, fuelType: 'electric' },
  { model: 'Fiat 500e', category: 'small', seats: 4, fuelType: 'electric' },
  { model: 'Tesla Model Y', category: 'premium', seats: 5, fuelType: 'electric' },
  { model: 'BMW i3', category: 'small', seats: 4, fuelType: 'electric' },
  { model: 'VW Polo', category: 'small', seats: 5, fuelType: 'petrol' },
  { model: 'Skoda Octavia', category: 'compact', seats: 5, fuelType: 'petrol' },
  { model: 'VW ID. Buzz', category: 'van', seats: 7, fuelType: 'electric' },
];

const vinAlphabet = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';

/** The index-th simulated car's registration: plausible, unique, and the same on every run. */
export function simulatedCar(index: number, seed = 1): NewCar {
  const random = seededRandom(seed * 31 + index);
  const kind = models[Math.floor(random() * models.length)] as (typeof models)[number];
  const vin = `WCSM${Array.from({ length: 13 }, () => vinAlphabet[Math.floor(random() * vinAlphabet.length)]).join('')}`;
  return { ...kind, plate: `B-SC ${String(index + 1).padStart(4, '0')}`.slice(0, 12), vin };
}

/** Cars created at once. */
const batchSize = 16;

/** The index-th simulated car's plate, whatever the seed: the key by which a rerun finds the cars it made. */
export function simulatedPlate(index: number): string {
  return simulatedCar(index).plate;
}

/**
 * Makes sure the simulator has `count` cars with credentials: reuses the ones in fleet.json and
 * creates only the missing ones through the car service, a batch at a time, saving after each
 * batch so a crash part-way keeps every secret already issued. The car at place i of fleet.json
 * is always the one with `simulatedPlate(i)`. A car the car service already has (made by a run
 * that crashed before saving it, timed out after the car service made it, or whose fleet.json was
 * lost) is adopted by its plate with a newly issued secret instead of failing on PLATE_TAKEN, so
 * provisioning can be rerun as often as needed and ends with the same cars.
 */
export async function provisionFleet(options: {
  count: number;
  store: FleetStore;
  registrar: CarRegistrar;
  /** The city and seed the simulator will run with: a new car is registered where it will start. */
  city: StreetNetwork;
  seed: number;
  onProgress?: (provisioned: number, missing: number) => void;
}): Promise<{ cars: FleetCar[]; created: number; adopted: number }> {
  const cars = await options.store.load();
  const initial = cars.length;
  const missing = Math.max(0, options.count - initial);
  let created = 0;
  let adopted = 0;
  while (cars.length < options.count) {
    const first = cars.length;
    const batch = Array.from({ length: Math.min(batchSize, options.count - first) }, (_, offset) => {
      const { start } = placeCar(options.city, options.seed, first + offset);
      return { ...simulatedCar(first + offset, options.seed), position: { lat: start.lat, lng: start.lng } };
    });
    const results = await Promise.allSettled(
      batch.map(async (car) => {
        try {
          return { ...(await options.registrar.register(car)), adopted: false };
        } catch (error) {
          if (!(error instanceof PlateTaken)) throw error;
          const existing = await options.registrar.adopt(car.plate);
          if (!existing) throw new Error(`the car service refused plate ${car.plate} as taken, yet lists no car with it`, { cause: error });
          return { ...existing, adopted: true };
        }
      }),
    );
    // Only the run up to the first failure is kept, so place i stays plate i; cars made after it
    // in this batch are adopted by plate on the next attempt.
    let failure: { reason: unknown } | undefined;
    for (const [offset, result] of results.entries()) {
      if (result.status === 'rejected') {
        failure = { reason: result.reason };
        break;
      }
      cars.push({ carId: result.value.carId, secret: result.value.secret, plate: (batch[offset] as NewCar).plate });
      if (result.value.adopted) adopted += 1;
      else created += 1;
    }
    await options.store.save(cars);
    if (failure) throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
    options.onProgress?.(cars.length - initial, missing);
  }
  return { cars: cars.slice(0, options.count), created, adopted };
}
