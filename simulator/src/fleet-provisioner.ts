import { seededRandom, type StreetNetwork } from '@carshare/city';
import { placeCar } from './domain/car-placement.ts';
import type { CarRegistrar, NewCar } from './car-registrar.ts';
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

/** Cars created at once; also how many secrets a crash mid-batch could lose (those cars then need a credential rotation). */
const batchSize = 16;

/**
 * Makes sure the simulator has `count` cars with credentials: reuses the ones in fleet.json and
 * creates only the missing ones through the car service, a batch at a time, saving after each
 * batch so a crash part-way keeps every secret already issued (the car service never shows one
 * again).
 */
export async function provisionFleet(options: {
  count: number;
  store: FleetStore;
  registrar: CarRegistrar;
  /** The city and seed the simulator will run with: a new car is registered where it will start. */
  city: StreetNetwork;
  seed: number;
  onProgress?: (created: number, missing: number) => void;
}): Promise<{ cars: FleetCar[]; created: number }> {
  const cars = await options.store.load();
  const missing = Math.max(0, options.count - cars.length);
  let created = 0;
  while (created < missing) {
    const first = cars.length;
    const batch = Array.from({ length: Math.min(batchSize, missing - created) }, (_, offset) => {
      const { start } = placeCar(options.city, options.seed, first + offset);
      return { ...simulatedCar(first + offset, options.seed), position: { lat: start.lat, lng: start.lng } };
    });
    const results = await Promise.allSettled(batch.map((car) => options.registrar.register(car)));
    for (const result of results) if (result.status === 'fulfilled') cars.push({ carId: result.value.carId, secret: result.value.secret });
    await options.store.save(cars);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    created += batch.length;
    options.onProgress?.(created, missing);
  }
  return { cars: cars.slice(0, options.count), created: missing };
}
