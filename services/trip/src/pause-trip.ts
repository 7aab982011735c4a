import { TripPaused, TripResumed } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import { Conflict, NotFound, Unauthenticated, Unavailable, isAppError, type CallContext, type Caller, type Clock } from '@carshare/platform';
import { defineSaga, type SagaOutcome, type SagaRunner } from '@carshare/saga';
import type { Kysely } from 'kysely';
import { SqlTripLog, type TripRow } from './adapters/sql-trip-log.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import { recoverForwardMs, sagaError } from './finish-trip.ts';
import type { CarPort, OnBehalf, TripOutbox } from './ports.ts';

export interface ParkInput {
  tripId: string;
  riderId: string;
  carId: string;
  holderId: string;
}

export interface PauseDeps {
  cars: CarPort;
  clock: Clock;
  events: EventFactory;
  outbox: TripOutbox;
}

const onBehalf = (input: ParkInput): OnBehalf => ({ riderId: input.riderId });
const trxOf = (ctx: { trx: unknown }) => ctx.trx as Kysely<TripDatabase>;
const heldOf = (input: ParkInput) => ({ carId: input.carId, reservationId: input.holderId });

function notUndoable(error: unknown): boolean {
  return isAppError(error) && ['NOT_YOUR_CAR', 'CAR_NOT_FOUND', 'INVALID_CAR_TRANSITION', 'CAR_NOT_AVAILABLE'].includes(error.reason);
}

/**
 * Pause (parking): `paused` from now → the car locks (device ack) → the car is held for the
 * trip again. The car service's Lock ends a use and frees the car, and it has no "parked" state,
 * so the trip claims it back under the same holder at once; resume then unlocks it like a start.
 * Between the lock's ack and the claim another rider's claim could win (a window of one round
 * trip): the pause then fails CAR_TAKEN_WHILE_PARKING. A car-side "park" move would close it.
 */
export function definePauseTripSaga(deps: PauseDeps) {
  const { cars, clock, events, outbox } = deps;
  return defineSaga<ParkInput>(
    'trip.pause',
    [
      {
        name: 'begin-pause',
        local: true,
        invoke: async (ctx) => {
          const log = new SqlTripLog(trxOf(ctx));
          const trip = await log.find(ctx.input.tripId);
          if (!trip || trip.status !== 'in_progress') throw Conflict('TRIP_NOT_IN_PROGRESS', `the trip is ${trip?.status ?? 'gone'}`, { tripId: ctx.input.tripId, current: trip?.status ?? null });
          const at = clock.now();
          await log.change(trip.id, ['in_progress'], 'paused', { type: 'trip.paused', data: { sagaId: ctx.sagaId } }, { paused_since: new Date(at) }, at);
          return { at };
        },
        compensate: async (ctx) => {
          if (!ctx.result) return;
          // The parking minutes never started: the pause is taken back whole.
          await new SqlTripLog(trxOf(ctx)).change(ctx.input.tripId, ['paused'], 'in_progress', { type: 'trip.pause_abandoned', data: { sagaId: ctx.sagaId } }, { paused_since: null }, clock.now());
        },
      },
      {
        name: 'lock-car',
        invoke: async (ctx) => {
          const car = await cars.getCar(ctx.input.carId, onBehalf(ctx.input));
          // Called again after a crash: the lock already took effect (free, or held again by us).
          if (car.reservationId !== ctx.input.holderId || car.state === 'reserved') return;
          await cars.lock(heldOf(ctx.input), onBehalf(ctx.input));
        },
        compensate: async (ctx) => {
          // A lock in doubt, or the claim back failed: give the rider the car back if we can.
          const car = await cars.getCar(ctx.input.carId, onBehalf(ctx.input));
          try {
            if (car.reservationId !== ctx.input.holderId) await cars.claim(heldOf(ctx.input), onBehalf(ctx.input));
            const again = await cars.getCar(ctx.input.carId, onBehalf(ctx.input));
            if (again.state === 'reserved') await cars.unlock(heldOf(ctx.input), onBehalf(ctx.input));
          } catch (error) {
            if (!notUndoable(error)) throw error;
          }
        },
      },
      {
        name: 'hold-car',
        invoke: async (ctx) => {
          try {
            await cars.claim(heldOf(ctx.input), onBehalf(ctx.input));
          } catch (error) {
            if (isAppError(error) && error.reason === 'CAR_NOT_AVAILABLE') {
              throw Conflict('CAR_TAKEN_WHILE_PARKING', 'the car was taken by someone else while it locked; contact support', { tripId: ctx.input.tripId });
            }
            throw error;
          }
        },
      },
      {
        // Announced once the car is locked and held: a pause that was taken back never went out.
        name: 'announce',
        local: true,
        invoke: async (ctx) => {
          const { at } = ctx.results['begin-pause'] as { at: number };
          await outbox.add(trxOf(ctx), events.create(TripPaused, ctx.input.tripId, { tripId: ctx.input.tripId, riderId: ctx.input.riderId, carId: ctx.input.carId, at: new Date(at).toISOString() }));
        },
      },
    ],
    { timeoutMs: recoverForwardMs },
  );
}

/** Resume: `in_progress` with the pause's minutes added up → the car unlocks (device ack). */
export function defineResumeTripSaga(deps: PauseDeps) {
  const { cars, clock, events, outbox } = deps;
  return defineSaga<ParkInput>(
    'trip.resume',
    [
      {
        name: 'begin-resume',
        local: true,
        invoke: async (ctx) => {
          const log = new SqlTripLog(trxOf(ctx));
          const trip = await log.find(ctx.input.tripId);
          if (!trip || trip.status !== 'paused' || trip.pausedSince === undefined) throw Conflict('TRIP_NOT_PAUSED', `the trip is ${trip?.status ?? 'gone'}`, { tripId: ctx.input.tripId, current: trip?.status ?? null });
          const at = clock.now();
          const pausedMs = Math.max(0, at - trip.pausedSince);
          await log.change(trip.id, ['paused'], 'in_progress', { type: 'trip.resumed', data: { sagaId: ctx.sagaId, pausedMs } }, { paused_since: null, paused_ms: trip.pausedMs + pausedMs }, at);
          return { at, pausedMs, pausedSince: trip.pausedSince, pausedMsBefore: trip.pausedMs };
        },
        compensate: async (ctx) => {
          const before = ctx.result as { pausedSince: number; pausedMsBefore: number } | undefined;
          if (!before) return;
          // Still parked: the pause goes on from when it began, so no parking minute is lost.
          await new SqlTripLog(trxOf(ctx)).change(
            ctx.input.tripId,
            ['in_progress'],
            'paused',
            { type: 'trip.resume_abandoned', data: { sagaId: ctx.sagaId } },
            { paused_since: new Date(before.pausedSince), paused_ms: before.pausedMsBefore },
            clock.now(),
          );
        },
      },
      {
        name: 'unlock-car',
        invoke: async (ctx) => {
          const car = await cars.getCar(ctx.input.carId, onBehalf(ctx.input));
          if (car.reservationId === ctx.input.holderId && car.state === 'in_use') return;
          await cars.unlock(heldOf(ctx.input), onBehalf(ctx.input));
        },
      },
      {
        name: 'announce',
        local: true,
        invoke: async (ctx) => {
          const { at, pausedMs } = ctx.results['begin-resume'] as { at: number; pausedMs: number };
          await outbox.add(trxOf(ctx), events.create(TripResumed, ctx.input.tripId, { tripId: ctx.input.tripId, riderId: ctx.input.riderId, carId: ctx.input.carId, at: new Date(at).toISOString(), pausedMs }));
        },
      },
    ],
    { timeoutMs: recoverForwardMs },
  );
}

export type ParkSaga = ReturnType<typeof definePauseTripSaga>;

export interface ParkUseCaseDeps {
  db: Kysely<TripDatabase>;
  runner: SagaRunner;
  pause: ParkSaga;
  resume: ParkSaga;
  ids: { next(): string };
}

/** `PauseTrip` / `ResumeTrip`: asking for the state the trip is in already answers it as it is. */
export function createParking(deps: ParkUseCaseDeps) {
  const log = new SqlTripLog(deps.db);

  async function ownTrip(tripId: string, caller: Caller | undefined): Promise<TripRow> {
    if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
    const trip = await log.find(tripId);
    if (!trip || trip.riderId !== caller.userId) throw NotFound('TRIP_NOT_FOUND', `no trip ${tripId}`, { tripId });
    return trip;
  }

  async function run(saga: ParkSaga, trip: TripRow, failedReason: string): Promise<TripRow> {
    let outcome: SagaOutcome;
    try {
      outcome = await deps.runner.run(saga, { tripId: trip.id, riderId: trip.riderId, carId: trip.carId, holderId: trip.reservationId ?? trip.id }, { id: deps.ids.next() });
    } catch (error) {
      if (isAppError(error) && error.reason === 'SAGA_INTERRUPTED') throw Unavailable('TRIP_BUSY', 'the trip is changing; ask again in a moment', { tripId: trip.id, retryAfterMs: 1_000 });
      throw error;
    }
    if (outcome.status !== 'completed') throw sagaError(outcome, trip.id, failedReason, 'the car could not be parked or unparked; an operator has been alerted');
    return (await log.find(trip.id)) ?? trip;
  }

  return {
    async pauseTrip(input: { tripId: string }, caller: Caller | undefined, ctx?: CallContext): Promise<TripRow> {
      void ctx;
      const trip = await ownTrip(input.tripId, caller);
      if (trip.status === 'paused') return trip;
      if (trip.status !== 'in_progress') throw Conflict('TRIP_NOT_IN_PROGRESS', `the trip is ${trip.status}`, { tripId: trip.id, current: trip.status });
      return run(deps.pause, trip, 'TRIP_PAUSE_FAILED');
    },
    async resumeTrip(input: { tripId: string }, caller: Caller | undefined, ctx?: CallContext): Promise<TripRow> {
      void ctx;
      const trip = await ownTrip(input.tripId, caller);
      if (trip.status === 'in_progress') return trip;
      if (trip.status !== 'paused') throw Conflict('TRIP_NOT_PAUSED', `the trip is ${trip.status}`, { tripId: trip.id, current: trip.status });
      return run(deps.resume, trip, 'TRIP_RESUME_FAILED');
    },
  };
}
