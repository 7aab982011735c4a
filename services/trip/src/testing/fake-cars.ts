import { Conflict, NotFound, Unavailable } from '@carshare/platform';
import type { CarPort, OnBehalf, ProfilePort } from '../ports.ts';

interface FakeCar {
  category: string;
  state: 'available' | 'reserved' | 'in_use';
  reservationId: string | undefined;
}

/**
 * The car service as the trip service sees it, with its promises: of concurrent claims exactly
 * one wins, a repeated winning claim answers again, releasing a car no longer held is a no-op.
 * `failNext` injects a fault into the next call of a method.
 */
export class FakeCars implements CarPort {
  readonly cars = new Map<string, FakeCar>();
  readonly calls: { method: string; carId: string; reservationId: string; riderId: string }[] = [];
  readonly #faults = new Map<string, Error[]>();

  add(carId: string, category = 'compact'): void {
    this.cars.set(carId, { category, state: 'available', reservationId: undefined });
  }

  failNext(method: 'claim' | 'release', error: Error = Unavailable('CAR_SERVICE_UNAVAILABLE', 'car service down')): void {
    this.#faults.set(method, [...(this.#faults.get(method) ?? []), error]);
  }

  #fault(method: string): void {
    const error = this.#faults.get(method)?.shift();
    if (error) throw error;
  }

  #car(carId: string): FakeCar {
    const car = this.cars.get(carId);
    if (!car) throw NotFound('CAR_NOT_FOUND', `no car ${carId}`);
    return car;
  }

  async claim(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<{ category: string }> {
    this.calls.push({ method: 'claim', ...input, riderId: on.riderId });
    this.#fault('claim');
    const car = this.#car(input.carId);
    if (car.reservationId === input.reservationId) return { category: car.category };
    if (car.state !== 'available') throw Conflict('CAR_NOT_AVAILABLE', `the car is ${car.state}`);
    car.state = 'reserved';
    car.reservationId = input.reservationId;
    return { category: car.category };
  }

  async release(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<void> {
    this.calls.push({ method: 'release', ...input, riderId: on.riderId });
    this.#fault('release');
    const car = this.#car(input.carId);
    if (car.state === 'available') return;
    if (car.reservationId !== input.reservationId) throw Conflict('NOT_YOUR_CAR', 'another reservation holds the car');
    car.state = 'available';
    car.reservationId = undefined;
  }
}

/** Verified riders by id; everyone else is not (as for a rider without a profile). */
export class FakeProfiles implements ProfilePort {
  readonly verified = new Set<string>();
  async isVerified(on: OnBehalf): Promise<boolean> {
    return this.verified.has(on.riderId);
  }
}
