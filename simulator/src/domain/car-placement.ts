import { seededRandom, type RandomSource, type StreetNetwork, type StreetPoint } from '@carshare/city';
import type { CarProfile } from './simulated-car.ts';

export interface CarPlacement {
  /** This car's own random stream, from the fleet seed and its place in the fleet. */
  random: RandomSource;
  start: StreetPoint;
  profile: CarProfile;
  odometerKm: number;
  energyPct: number;
}

/**
 * Where the index-th car of a fleet starts and what kind of car it is. One stream per car,
 * derived from the seed and its place, so adding cars leaves the others alone, and the provisioner
 * (which tells the car service where a new car stands) and the simulator agree.
 */
export function placeCar(city: StreetNetwork, seed: number, index: number): CarPlacement {
  const random = seededRandom(seed * 1_000_003 + index * 7_919);
  const start = city.randomPoint(random);
  return {
    random,
    start,
    profile: { rangeKm: 250 + random() * 300, paceFactor: 0.7 + random() * 0.3 },
    odometerKm: Math.round(1_000 + random() * 60_000),
    energyPct: Math.round(40 + random() * 60),
  };
}
