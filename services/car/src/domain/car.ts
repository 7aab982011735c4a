import type { CarState } from './car-state.ts';
import type { LatLng } from './geo.ts';

export type CarCategory = 'small' | 'compact' | 'premium' | 'van';
export type FuelType = 'electric' | 'petrol' | 'diesel' | 'hybrid';

/** A car as the service holds it (times in epoch ms). The device secret's hash stays in the store. */
export interface Car {
  id: string;
  plate: string;
  vin: string;
  model: string;
  category: CarCategory;
  seats: number;
  fuelType: FuelType;
  homeZone: string | null;
  trackerId: string | null;
  state: CarState;
  /** The reservation (or trip) holding the car; set exactly while the state is a rental state. */
  reservationId: string | null;
  position: LatLng | null;
  speedKph: number;
  headingDeg: number;
  energyPct: number;
  odometerKm: number;
  locked: boolean;
  /** Device time of the last accepted report. */
  lastReportAt: number | null;
  /** Our time of the last accepted report: what "silent for N minutes" is measured from. */
  lastSeenAt: number | null;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface NewCarInput {
  plate: string;
  vin: string;
  model: string;
  category: CarCategory;
  seats: number;
  fuelType: FuelType;
  homeZone?: string | undefined;
  trackerId?: string | undefined;
  position?: LatLng | undefined;
}

/** Plates compare in one form: upper case, single spaces. */
export function normalizePlate(plate: string): string {
  return plate.trim().toUpperCase().replace(/\s+/g, ' ');
}

/** A new car starts available and locked, with a full tank until its device says otherwise. */
export function newCar(input: NewCarInput, id: string, now: number): Car {
  return {
    id,
    plate: normalizePlate(input.plate),
    vin: input.vin.toUpperCase(),
    model: input.model.trim(),
    category: input.category,
    seats: input.seats,
    fuelType: input.fuelType,
    homeZone: input.homeZone ?? null,
    trackerId: input.trackerId ?? null,
    state: 'available',
    reservationId: null,
    position: input.position ?? null,
    speedKph: 0,
    headingDeg: 0,
    energyPct: 100,
    odometerKm: 0,
    locked: true,
    lastReportAt: null,
    lastSeenAt: null,
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}
