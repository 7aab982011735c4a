import { randomUUID } from 'node:crypto';
import type { RandomSource, StreetNetwork } from '@carshare/city';
import type { SimulationTime } from '../simulation-time.ts';
import { PublicApiError, type ApiSession } from './public-api.ts';

export interface JourneySettings {
  /** How far from where the rider stands they look for a car. */
  searchRadiusM: number;
  /** From reserving to starting: the walk to the car, [min, max] ms. */
  walkMs: readonly [number, number];
  /** From the start to the first try to finish: the drive (the device drives the car meanwhile), [min, max] ms. */
  driveMs: readonly [number, number];
  /** Between tries to finish when the car is outside every zone the trip may end in (the car keeps driving). */
  parkRetryMs: number;
  /** Tries to finish before leaving the trip to run on. */
  finishAttempts: number;
  /** Same-key repeats of a start or finish the platform could not answer (5xx, 429, saga still running). */
  retries: number;
  /** Wait before such a repeat. */
  retryDelayMs: number;
}

export type JourneyOutcome = 'finished' | 'no_car_nearby' | 'cars_taken' | 'start_refused' | 'finish_refused' | 'stopped' | 'failed';

export interface JourneyReport {
  outcome: JourneyOutcome;
  tripId?: string;
  /** The platform's error code when it said no (or could not answer). */
  code?: string;
}

interface NearbyCar {
  id: string;
  distanceM: number;
}

interface TripAnswer {
  id: string;
  status: string;
}

/** Waits on the simulation's scheduler (a hand-moved one in tests); `stopped()` ends every wait early. */
export interface JourneyClock {
  time: SimulationTime;
  sleep(ms: number): Promise<void>;
  stopped(): boolean;
}

function between(random: RandomSource, [min, max]: readonly [number, number]): number {
  return min + random() * (max - min);
}

/**
 * One rider's trip, as their app would do it through the public API: stand somewhere in the city,
 * look for cars nearby, reserve the nearest free one (of riders racing for it one wins: try the
 * next), walk to it, start the trip (Idempotency-Key, repeated as is when the platform could not
 * answer), let the car be driven (the simulated device drives an unlocked car along the streets),
 * then finish it (again with a key); a finish refused because the car stands outside every zone
 * is tried again later, after the car has moved on.
 */
export async function rideOnce(options: {
  rider: ApiSession;
  city: StreetNetwork;
  random: RandomSource;
  clock: JourneyClock;
  settings: JourneySettings;
  /** Told the trip id once the platform started the trip. */
  onStarted?: (tripId: string) => void;
}): Promise<JourneyReport> {
  const { rider, city, random, clock, settings } = options;
  const spot = city.randomPoint(random);
  const nearby = await rider.call<{ items: NearbyCar[] }>('GET', '/v1/cars/nearby', { query: { lat: spot.lat, lng: spot.lng, radiusM: settings.searchRadiusM, limit: 5 } });
  if (nearby.items.length === 0) return { outcome: 'no_car_nearby' };

  let reservationId: string | undefined;
  for (const car of nearby.items) {
    try {
      reservationId = (await rider.call<{ id: string }>('POST', '/v1/reservations', { body: { carId: car.id } })).id;
      break;
    } catch (error) {
      // Someone else got there first (or its device went quiet): the next car.
      if (error instanceof PublicApiError && (error.code === 'CAR_NOT_AVAILABLE' || error.code === 'CAR_NOT_FOUND')) continue;
      throw error;
    }
  }
  if (reservationId === undefined) return { outcome: 'cars_taken' };

  await clock.sleep(between(random, settings.walkMs));
  if (clock.stopped()) {
    await rider.call('DELETE', `/v1/reservations/${reservationId}`).catch(() => undefined);
    return { outcome: 'stopped' };
  }
  let trip: TripAnswer;
  try {
    trip = await repeatUntilAnswered(clock, settings, (key) => rider.call<TripAnswer>('POST', '/v1/trips', { body: { reservationId }, idempotencyKey: key }));
  } catch (error) {
    if (!(error instanceof PublicApiError)) throw error;
    // The saga compensated (the car is free again, the hold released) and said why; a reservation
    // that outlived it is given back, so the car does not wait for the hold to expire.
    await rider.call('DELETE', `/v1/reservations/${reservationId}`).catch(() => undefined);
    const tripId = typeof error.details['tripId'] === 'string' ? error.details['tripId'] : undefined;
    return { outcome: 'start_refused', code: error.code, ...(tripId && { tripId }) };
  }

  options.onStarted?.(trip.id);
  await clock.sleep(between(random, settings.driveMs));
  return finishTrip({ rider, clock, settings, tripId: trip.id });
}

/** Refusals of a finish that another try, once the car has moved on or reported, may not get. */
const parkAgainCodes = new Set(['OUTSIDE_OPERATING_AREA', 'NO_PARKING_ZONE', 'CAR_POSITION_UNKNOWN']);

/**
 * Ends the rider's trip: `finish` with one Idempotency-Key per attempt to park. A refusal for
 * where the car stands (outside the zones, a no-parking zone, no position yet) is tried again
 * after `parkRetryMs`; when the simulator stops, one try is made at once so no car is left in use.
 */
export async function finishTrip(options: { rider: ApiSession; clock: JourneyClock; settings: JourneySettings; tripId: string }): Promise<JourneyReport> {
  const { rider, clock, settings, tripId } = options;
  let last: PublicApiError | undefined;
  for (let attempt = 0; attempt < settings.finishAttempts; attempt++) {
    try {
      await repeatUntilAnswered(clock, settings, (key) => rider.call('POST', `/v1/trips/${tripId}/finish`, { idempotencyKey: key }));
      return { outcome: 'finished', tripId };
    } catch (error) {
      if (!(error instanceof PublicApiError)) throw error;
      last = error;
      if (!parkAgainCodes.has(error.code) || clock.stopped()) break;
      await clock.sleep(settings.parkRetryMs);
    }
  }
  return { outcome: clock.stopped() && last !== undefined && parkAgainCodes.has(last.code) ? 'stopped' : 'finish_refused', tripId, ...(last && { code: last.code }) };
}

/** Repeats a call under one Idempotency-Key while the platform could not answer it, then gives the last error. */
async function repeatUntilAnswered<T>(clock: JourneyClock, settings: JourneySettings, call: (key: string) => Promise<T>): Promise<T> {
  const key = randomUUID();
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(key);
    } catch (error) {
      if (!(error instanceof PublicApiError) || !error.retryable || attempt >= settings.retries || clock.stopped()) throw error;
      await clock.sleep(settings.retryDelayMs * (attempt + 1));
    }
  }
}
