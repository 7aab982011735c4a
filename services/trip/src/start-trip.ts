import { type AppError, Conflict, isAppError, NotFound, Unauthenticated, Unavailable, type CallContext, type Caller, type Clock, type LiveConfig } from '@carshare/platform';
import { TripFailed, TripStarted } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import { defineSaga, type SagaOutcome, type SagaRunner } from '@carshare/saga';
import type { Kysely } from 'kysely';
import { SqlTripLog, type TripRow } from './adapters/sql-trip-log.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import type { createFinishTrip } from './finish-trip.ts';
import { tariffFor, tripCarCategories, type TripCarCategory } from './config.ts';
import type { CarPort, OnBehalf, PaymentPort, ProfilePort, ReservationStore, TripOutbox, TripSettings } from './ports.ts';

export interface StartTripInput {
  tripId: string;
  riderId: string;
  carId: string;
  /** Set when the trip converts the rider's reservation: the car is already held under its id. */
  reservationId: string | undefined;
}

/** The id the car is held under: the reservation's when there is one, else the trip's own. */
const holderOf = (input: StartTripInput) => input.reservationId ?? input.tripId;
const onBehalf = (input: StartTripInput): OnBehalf => ({ riderId: input.riderId });

function categoryOf(value: string): TripCarCategory {
  return (tripCarCategories as readonly string[]).includes(value) ? (value as TripCarCategory) : 'compact';
}

/** A compensation for something that is not (or no longer) there is done, not failed. */
function alreadyUndone(error: unknown): boolean {
  return isAppError(error) && ['PAYMENT_NOT_FOUND', 'NOT_YOUR_CAR', 'CAR_NOT_FOUND', 'INVALID_CAR_TRANSITION'].includes(error.reason);
}

async function undo(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!alreadyUndone(error)) throw error;
  }
}

export interface StartTripDeps {
  cars: CarPort;
  profiles: ProfilePort;
  payments: PaymentPort;
  settings: LiveConfig<TripSettings>;
  clock: Clock;
  events: EventFactory;
  outbox: TripOutbox;
}

/**
 * Start trip (DOMAIN.md): record the trip → profile verified → claim the car (or take over the
 * reservation's hold) → authorise the deposit (reference = trip id) → unlock (device ack) →
 * in_progress. Every remote step is undone in reverse when a later one fails; a crash resumes
 * or compensates through SagaRunner.recover.
 */
export function defineStartTripSaga(deps: StartTripDeps) {
  const { cars, profiles, payments, settings, clock, events, outbox } = deps;
  return defineSaga<StartTripInput>(
    'trip.start',
    [
      {
        name: 'record-trip',
        local: true,
        plan: async (ctx) => {
          const log = new SqlTripLog(ctx.db as Kysely<TripDatabase>);
          return { writes: [{ query: log.openQuery({ id: ctx.input.tripId, riderId: ctx.input.riderId, carId: ctx.input.carId, reservationId: ctx.input.reservationId }, clock.now()) }], result: undefined };
        },
        planCompensation: async (ctx) => {
          const log = new SqlTripLog(ctx.db as Kysely<TripDatabase>);
          return { writes: [{ query: log.changeQuery(ctx.input.tripId, ['starting'], 'failed', { type: 'trip.failed', data: {} }, { failure_reason: 'START_FAILED' }, clock.now()) }], result: undefined };
        },
      },
      {
        name: 'check-profile',
        invoke: async (ctx) => {
          if (!(await profiles.isVerified(onBehalf(ctx.input)))) throw Conflict('PROFILE_NOT_VERIFIED', 'your driving licence is not verified yet');
        },
      },
      {
        name: 'claim-car',
        invoke: async (ctx) => cars.claim({ carId: ctx.input.carId, reservationId: holderOf(ctx.input) }, onBehalf(ctx.input)),
        compensate: async (ctx) => undo(() => cars.release({ carId: ctx.input.carId, reservationId: holderOf(ctx.input) }, onBehalf(ctx.input))),
      },
      {
        name: 'authorise-deposit',
        invoke: async (ctx) => {
          const { category } = ctx.results['claim-car'] as { category: string };
          const amountCents = settings.get().deposits[categoryOf(category)];
          const hold = await payments.authorize({ riderId: ctx.input.riderId, reference: ctx.input.tripId, amountCents }, onBehalf(ctx.input));
          return { paymentId: hold.paymentId, amountCents };
        },
        compensate: async (ctx) => {
          // In doubt (a timeout): the hold may exist all the same; the reference finds it.
          const held = ctx.result as { paymentId: string } | undefined;
          const paymentId = held?.paymentId ?? (await payments.findByReference(ctx.input.tripId, onBehalf(ctx.input)))?.paymentId;
          if (paymentId) await undo(() => payments.void(paymentId, onBehalf(ctx.input)));
        },
      },
      {
        name: 'unlock-car',
        invoke: async (ctx) => {
          await cars.unlock({ carId: ctx.input.carId, reservationId: holderOf(ctx.input) }, onBehalf(ctx.input));
        },
        // An unlock that took effect is locked again before the car is released.
        compensate: async (ctx) => undo(() => cars.lock({ carId: ctx.input.carId, reservationId: holderOf(ctx.input) }, onBehalf(ctx.input))),
      },
      {
        name: 'begin-trip',
        local: true,
        plan: async (ctx) => {
          const { category } = ctx.results['claim-car'] as { category: string };
          const { paymentId, amountCents } = ctx.results['authorise-deposit'] as { paymentId: string; amountCents: number };
          const tariff = tariffFor(settings.get().tariffs, categoryOf(category));
          const startedAt = new Date(clock.now());
          const started = new SqlTripLog(ctx.db as Kysely<TripDatabase>).changeQuery(
            ctx.input.tripId,
            ['starting'],
            'in_progress',
            { type: 'trip.started', data: { category, tariffVersion: tariff.version, paymentId, depositCents: amountCents } },
            { category, tariff: { ...tariff }, deposit_cents: amountCents, payment_id: paymentId, started_at: startedAt },
            clock.now(),
          );
          const event = events.create(TripStarted, ctx.input.tripId, {
            tripId: ctx.input.tripId,
            riderId: ctx.input.riderId,
            carId: ctx.input.carId,
            category,
            tariffVersion: tariff.version,
            depositCents: amountCents,
            startedAt: startedAt.toISOString(),
          });
          return {
            writes: [{ query: started, orElse: () => Conflict('TRIP_NOT_STARTING', 'the trip is no longer starting') }, { query: outbox.insert(event).compile(ctx.db) }],
            result: undefined,
            afterCommit: () => outbox.announce(),
          };
        },
      },
    ],
    { timeoutMs: 30_000 },
  );
}

export type StartTripSaga = ReturnType<typeof defineStartTripSaga>;

/** The rider's error for a start that compensated: the failed step's own, else a 503. */
function startError(outcome: SagaOutcome): AppError {
  const error = outcome.error;
  if (!error) return Unavailable('TRIP_START_FAILED', 'the trip could not start');
  const kinds: Record<string, (reason: string, message: string, details?: Record<string, unknown>) => AppError> = {
    FAILED_PRECONDITION: Conflict,
    NOT_FOUND: NotFound,
  };
  const make = (error.code !== undefined && kinds[error.code]) || Unavailable;
  return make(error.reason, error.message, { tripId: outcome.id, step: error.step });
}

export interface StartTripUseCaseDeps {
  db: Kysely<TripDatabase>;
  /** Runs work in one transaction of the service's database (the failure and its event together). */
  transact: <T>(work: (trx: Kysely<TripDatabase>) => Promise<T>) => Promise<T>;
  events: EventFactory;
  outbox: TripOutbox;
  runner: SagaRunner;
  saga: StartTripSaga;
  reservations: ReservationStore;
  clock: Clock;
  ids: { next(): string };
  /**
   * Settles the owed extension fee of a reservation whose trip failed to start (waived or charged
   * alone, by the failure's reason). Best effort here: the reservation sweep settles what it left.
   */
  settleFeeOfFailedStart?: ((reservationId: string, reason: string, ctx: CallContext | undefined) => Promise<unknown>) | undefined;
}

/**
 * `StartTrip {reservationId | carId}`: the trip id is the saga id, so a retried request with the
 * same id joins its saga instead of starting a second one.
 */
export function createStartTrip(deps: StartTripUseCaseDeps) {
  const log = new SqlTripLog(deps.db);
  return async function startTrip(
    input: { reservationId?: string | undefined; carId?: string | undefined; tripId?: string | undefined },
    caller: Caller | undefined,
    ctx?: CallContext,
  ): Promise<TripRow> {
    if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
    let carId = input.carId;
    let reservationId: string | undefined;
    if (input.reservationId !== undefined) {
      const reservation = await deps.reservations.find(input.reservationId);
      if (!reservation || reservation.riderId !== caller.userId) throw NotFound('RESERVATION_NOT_FOUND', `no reservation ${input.reservationId}`);
      if (reservation.status !== 'active' && reservation.status !== 'converted') throw Conflict('RESERVATION_ENDED', `the reservation is ${reservation.status}`);
      carId = reservation.carId;
      reservationId = reservation.id;
    }
    if (carId === undefined) throw Conflict('CAR_OR_RESERVATION_REQUIRED', 'name a car or your reservation');
    const tripId = input.tripId ?? deps.ids.next();
    if (reservationId !== undefined) {
      // Converted before the saga runs, so the sweeper cannot release the car under it; a start
      // that fails releases the car in its compensation, and the reservation stays used.
      const reservation = await deps.reservations.find(reservationId);
      if (reservation?.status === 'active') await deps.reservations.end({ ...reservation, status: 'converted', endedAt: deps.clock.now() });
    }
    const outcome = await deps.runner.run(deps.saga, { tripId, riderId: caller.userId, carId, reservationId }, { id: tripId });
    const failure = outcome.status !== 'completed' ? outcome.error : null;
    if (failure) {
      await deps.transact(async (trx) => {
        // Once per trip: a repeated start of a failed trip finds it explained already.
        const explained = await new SqlTripLog(trx).change(tripId, ['failed'], 'failed', { type: 'trip.failure_explained', data: { ...failure } }, { failure_reason: failure.reason }, deps.clock.now());
        const stored = explained && (await new SqlTripLog(trx).events(tripId)).filter((event) => event.type === 'trip.failure_explained').length === 1;
        if (stored) await deps.outbox.add(trx, deps.events.create(TripFailed, tripId, { tripId, riderId: caller.userId, carId, reason: failure.reason }));
      });
      if (reservationId !== undefined && deps.settleFeeOfFailedStart) {
        try {
          await deps.settleFeeOfFailedStart(reservationId, failure.reason, ctx);
        } catch {
          // Still owed: the reservation sweep settles it (one payment per reservation, never two).
        }
      }
    }
    const trip = await log.find(tripId);
    if (outcome.status !== 'completed') throw startError(outcome);
    if (!trip) throw NotFound('TRIP_NOT_FOUND', `no trip ${tripId}`);
    return trip;
  };
}

/** `GetTrip`: the rider's own trip, or any for staff; someone else's is "not found". */
export function createGetTrip(db: Kysely<TripDatabase>) {
  const log = new SqlTripLog(db);
  return async function getTrip(input: { tripId: string }, caller: Caller | undefined): Promise<TripRow> {
    if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
    const trip = await log.find(input.tripId);
    const staff = caller.role === 'operator' || caller.role === 'admin';
    if (!trip || (trip.riderId !== caller.userId && !staff)) throw NotFound('TRIP_NOT_FOUND', `no trip ${input.tripId}`, { tripId: input.tripId });
    return trip;
  };
}

/** The trip lifecycle use cases, which run on SQL (the saga log and the trip event log). */
export interface TripLifecycle {
  startTrip: ReturnType<typeof createStartTrip>;
  getTrip: ReturnType<typeof createGetTrip>;
  finishTrip: ReturnType<typeof createFinishTrip>;
}
