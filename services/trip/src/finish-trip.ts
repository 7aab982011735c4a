import { TripFinished } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import { Conflict, DeadlineExceeded, NotFound, Unauthenticated, Unavailable, isAppError, type AppError, type CallContext, type Caller, type Clock, type LiveConfig } from '@carshare/platform';
import { defineSaga, stalePlan, type SagaOutcome, type SagaRunner } from '@carshare/saga';
import type { BatchStatement } from '@carshare/storage';
import type { Kysely } from 'kysely';
import { SqlReservationStore } from './adapters/sql-reservation-store.ts';
import { SqlTripLog, type FinishedPrice, type TripRow } from './adapters/sql-trip-log.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import { zonesFromConfig } from './config.ts';
import { priceTrip, type Fee } from './domain/pricing.ts';
import { extensionFee } from './domain/reservation.ts';
import { routeDistanceM, tripTimes } from './domain/route.ts';
import { checkTripEnd } from './domain/zones.ts';
import type { CarPort, CarSnapshot, OnBehalf, PaymentPort, TripOutbox, TripSettings } from './ports.ts';

export interface FinishTripInput {
  tripId: string;
  riderId: string;
  carId: string;
  /** The id the car is held under (the reservation's, or the trip's own). */
  holderId: string;
  /**
   * The car as the request's own zone check read it, and when (absent in logs written before):
   * the saga's zone check judges from it while it is fresh instead of reading the car again.
   */
  carSeen?: CarSnapshot & { at: number };
}

/**
 * How old the request's read of the car may be for the saga's zone check to judge from it: the
 * steps run right after it, so this only sends a saga recovered long after its request (or a very
 * slow start) back to the car for its report then.
 */
const carSeenFreshMs = 5_000;

/** What the zone check answers: the end place, and the car's state and holder it was judged from. */
type ZoneChecked = EndPlace & { carState?: string; carHolder?: string | null };

/** The car moved on since it was read: a command for it was refused before it did anything. */
function carMovedMeanwhile(error: unknown): boolean {
  return isAppError(error) && ['NOT_YOUR_CAR', 'INVALID_CAR_TRANSITION'].includes(error.reason);
}

/** Where the trip ends, and what that costs: decided from the car's own last report. */
export interface EndPlace {
  position: { lat: number; lng: number };
  energyPct: number;
  zone: { id: string; name: string; kind: string };
  zoneFeeCents: number;
}

/**
 * May the trip end where the car is? 409 with the nearest allowed zone and how far it is when
 * not; 409 CAR_POSITION_UNKNOWN when the car never reported a position (nothing to judge by).
 */
export function judgeEnd(settings: TripSettings, car: CarSnapshot, tripId: string): EndPlace {
  if (!car.position) throw Conflict('CAR_POSITION_UNKNOWN', 'the car has not reported where it is; try again in a moment', { tripId });
  const check = checkTripEnd(zonesFromConfig(settings.zones), car.position);
  if (!check.allowed) {
    const nearest = check.nearest && {
      zoneId: check.nearest.zone.id,
      name: check.nearest.zone.name,
      kind: check.nearest.zone.kind,
      feeCents: check.nearest.zone.feeCents ?? 0,
      distanceM: Math.round(check.nearest.distanceM),
    };
    const message = check.reason === 'NO_PARKING_ZONE' ? 'the car is in a no-parking zone' : 'the car is outside the operating area';
    throw Conflict(check.reason, nearest ? `${message}; the nearest place to end is ${nearest.name}, ${nearest.distanceM} m away` : message, {
      tripId,
      position: car.position,
      nearestZone: nearest ?? null,
    });
  }
  return { position: car.position, energyPct: car.energyPct, zone: { id: check.zone.id, name: check.zone.name, kind: check.zone.kind }, zoneFeeCents: check.feeCents };
}

/** A compensation for something that is not (or no longer) there is done, not failed. */
function alreadyUndone(error: unknown): boolean {
  return isAppError(error) && ['NOT_YOUR_CAR', 'CAR_NOT_FOUND', 'INVALID_CAR_TRANSITION', 'CAR_NOT_AVAILABLE'].includes(error.reason);
}

/** The payment will not take this capture whatever we do: an operator has to look. */
function isFinalRefusal(error: unknown): boolean {
  return isAppError(error) && (error.code === 'FAILED_PRECONDITION' || error.code === 'NOT_FOUND' || error.code === 'INVALID_ARGUMENT');
}

export interface FinishTripDeps {
  db: Kysely<TripDatabase>;
  cars: CarPort;
  payments: PaymentPort;
  settings: LiveConfig<TripSettings>;
  clock: Clock;
  events: EventFactory;
  outbox: TripOutbox;
}

const onBehalf = (input: FinishTripInput): OnBehalf => ({ riderId: input.riderId });

interface Begun {
  from: 'in_progress' | 'paused';
  endAt: number;
  /**
   * What the later remote steps need of the trip, none of which changes while it is finishing:
   * carried in the saga log instead of read again by each step (absent in logs written before).
   */
  startedAt?: number;
  paymentId?: string | null;
  currency?: string;
  /** What the price needs besides (a pause or resume cannot change them while finishing). */
  tariff?: TripRow['tariff'] | null;
  pausedMs?: number;
  pausedSince?: number | null;
  reservationId?: string | null;
}

/**
 * Finish trip (DOMAIN.md): `finishing` → inside an allowed zone → telemetry distance → lock (the
 * device acks; the car service then frees the car) → price from the trip's own tariff → capture
 * → `finished` with trip.finished in the outbox. Until the lock every step undoes: the trip goes
 * back to running and the rider gets the step's error. From the lock on nothing can fail but the
 * capture, which never fails the finish: the amount is recorded, and what the payment service
 * does not confirm stays `payment: pending` for the retry sweep.
 */
export function defineFinishTripSaga(deps: FinishTripDeps) {
  const { cars, payments, settings, clock, events, outbox } = deps;
  const tripLog = new SqlTripLog(deps.db);

  async function requireTrip(log: SqlTripLog, tripId: string): Promise<TripRow> {
    const trip = await log.find(tripId);
    if (!trip) throw NotFound('TRIP_NOT_FOUND', `no trip ${tripId}`, { tripId });
    return trip;
  }

  return defineSaga<FinishTripInput>(
    'trip.finish',
    [
      {
        name: 'begin-finishing',
        local: true,
        plan: async (ctx) => {
          const log = new SqlTripLog(ctx.db as Kysely<TripDatabase>);
          const trip = await requireTrip(log, ctx.input.tripId);
          if (trip.status !== 'in_progress' && trip.status !== 'paused') {
            throw Conflict('TRIP_NOT_IN_PROGRESS', `the trip is ${trip.status}`, { tripId: trip.id, current: trip.status });
          }
          // The rider's minutes stop when they asked to end, not when the device answered.
          const endAt = clock.now();
          // At the version read: a pause and resume in between would leave the status as it was
          // and change the parking minutes this result carries to the price. Then it is read and
          // decided again (a trip no longer running or paused is refused above).
          const moved = log.changeQuery(trip.id, [trip.status], 'finishing', { type: 'trip.finish_requested', data: { sagaId: ctx.sagaId, from: trip.status } }, { finish_saga_id: ctx.sagaId }, endAt, trip.version);
          const begun: Begun = {
            from: trip.status,
            endAt,
            startedAt: trip.startedAt ?? trip.createdAt,
            paymentId: trip.paymentId ?? null,
            currency: trip.tariff?.currency ?? 'EUR',
            tariff: trip.tariff ?? null,
            pausedMs: trip.pausedMs,
            pausedSince: trip.pausedSince ?? null,
            reservationId: trip.reservationId ?? null,
          };
          return { writes: [{ query: moved, orElse: () => stalePlan('the trip changed meanwhile', { tripId: trip.id }) }], result: begun };
        },
        planCompensation: async (ctx) => {
          const begun = ctx.result as Begun | undefined;
          if (!begun) return { writes: [], result: undefined };
          const log = new SqlTripLog(ctx.db as Kysely<TripDatabase>);
          return { writes: [{ query: log.changeQuery(ctx.input.tripId, ['finishing'], begun.from, { type: 'trip.finish_abandoned', data: { sagaId: ctx.sagaId } }, { finish_saga_id: null }, clock.now()) }], result: undefined };
        },
      },
      {
        name: 'check-zone',
        invoke: async (ctx): Promise<ZoneChecked> => {
          const seen = ctx.input.carSeen;
          const car = seen && clock.now() - seen.at <= carSeenFreshMs ? seen : await cars.getCar(ctx.input.carId, onBehalf(ctx.input));
          return { ...judgeEnd(settings.get(), car, ctx.input.tripId), carState: car.state, carHolder: car.reservationId ?? null };
        },
      },
      {
        // Before the lock: once the car is locked nothing may fail, and telemetry can be down.
        name: 'measure-route',
        invoke: async (ctx) => {
          const begun = ctx.results['begin-finishing'] as Begun;
          const { endAt } = begun;
          let startedAt = begun.startedAt;
          if (startedAt === undefined) {
            const trip = await requireTrip(tripLog, ctx.input.tripId);
            startedAt = trip.startedAt ?? trip.createdAt;
          }
          const points = await cars.telemetrySince(ctx.input.carId, startedAt, onBehalf(ctx.input));
          return { distanceM: routeDistanceM(points, startedAt, endAt), points: points.length };
        },
      },
      {
        name: 'lock-car',
        invoke: async (ctx) => {
          const held = { carId: ctx.input.carId, reservationId: ctx.input.holderId };
          const checked = ctx.results['check-zone'] as ZoneChecked;
          // As the zone check saw it, the car is in use under this trip's hold (the usual end):
          // lock it without reading it again. The car service refuses a lock of a car that is no
          // longer so before doing anything, and then it is read and decided on as below.
          if (checked.carState === 'in_use' && checked.carHolder === ctx.input.holderId) {
            try {
              await cars.lock(held, onBehalf(ctx.input));
              return { alreadyFree: false };
            } catch (error) {
              if (!carMovedMeanwhile(error)) throw error;
            }
          }
          // By the car's state, not the trip's: a paused trip's car is locked and held already
          // (giving it back is all that is left), unless a resume in doubt did unlock it.
          const car = await cars.getCar(ctx.input.carId, onBehalf(ctx.input));
          if (car.reservationId !== ctx.input.holderId) return { alreadyFree: true };
          if (car.state === 'reserved') await cars.release(held, onBehalf(ctx.input));
          else await cars.lock(held, onBehalf(ctx.input));
          return { alreadyFree: false };
        },
        compensate: async (ctx) => {
          // Only a lock in doubt (a lost answer) gets here: a later step never fails. If it took
          // effect the car is free now; take it back for the rider whose trip goes on.
          const { from } = ctx.results['begin-finishing'] as Begun;
          const held = { carId: ctx.input.carId, reservationId: ctx.input.holderId };
          const car = await cars.getCar(ctx.input.carId, onBehalf(ctx.input));
          if (car.reservationId === ctx.input.holderId) return;
          try {
            await cars.claim(held, onBehalf(ctx.input));
            if (from === 'in_progress') await cars.unlock(held, onBehalf(ctx.input));
          } catch (error) {
            if (!alreadyUndone(error)) throw error;
          }
        },
      },
      {
        name: 'price',
        local: true,
        plan: async (ctx) => {
          const log = new SqlTripLog(ctx.db as Kysely<TripDatabase>);
          const begun = ctx.results['begin-finishing'] as Begun;
          const { endAt } = begun;
          // From the saga log when begin-finishing carried it (the trip's change below is conditioned
          // on `finishing`, which is the check the read made); a log written before reads the trip.
          const trip =
            begun.pausedMs === undefined || begun.tariff === undefined || begun.startedAt === undefined
              ? await requireTrip(log, ctx.input.tripId)
              : {
                  id: ctx.input.tripId,
                  tariff: begun.tariff ?? undefined,
                  startedAt: begun.startedAt,
                  pausedMs: begun.pausedMs,
                  pausedSince: begun.pausedSince ?? undefined,
                  reservationId: begun.reservationId ?? undefined,
                };
          const place = ctx.results['check-zone'] as EndPlace;
          const { distanceM } = ctx.results['measure-route'] as { distanceM: number };
          if (!trip.tariff || trip.startedAt === undefined) throw Conflict('TRIP_NOT_STARTED', 'the trip has no tariff', { tripId: trip.id });
          const times = tripTimes({ startedAt: trip.startedAt, pausedMs: trip.pausedMs, pausedSince: trip.pausedSince }, endAt);
          const lowEnergy = settings.get().lowEnergy;
          const fees: Fee[] = [];
          if (place.zoneFeeCents > 0) fees.push({ code: 'dropoff_zone', description: `Drop-off zone: ${place.zone.name}`, cents: place.zoneFeeCents });
          if (place.energyPct < lowEnergy.thresholdPct && lowEnergy.feeCents > 0) {
            fees.push({ code: 'low_energy', description: `Ended below ${lowEnergy.thresholdPct}% battery/fuel`, cents: lowEnergy.feeCents });
          }
          // A hold extended for a fee before it became this trip: the fee is a line of its receipt,
          // captured with it, and no longer owed on its own. Only while still owed: a fee charged
          // alone or waived after an earlier start of this reservation failed is not charged again.
          const writes: BatchStatement[] = [];
          if (trip.reservationId !== undefined) {
            const held = new SqlReservationStore(ctx.db as Kysely<TripDatabase>);
            const reservation = await held.find(trip.reservationId);
            const extension = extensionFee(reservation);
            if (extension && reservation?.feeStatus === 'owed') {
              fees.push(extension);
              // Settled elsewhere since the read: priced again, without it.
              writes.push({ query: held.settleFeeQuery(trip.reservationId, 'on_trip'), orElse: () => stalePlan('the extension fee was settled meanwhile', { reservationId: trip.reservationId }) });
            }
          }
          const breakdown = priceTrip(trip.tariff, { ...times, distanceM, fees });
          const price: FinishedPrice = { ...breakdown, vatRate: trip.tariff.vatRate, endZone: { id: place.zone.id, name: place.zone.name } };
          const priced = log.changeQuery(
            trip.id,
            ['finishing'],
            'finishing',
            { type: 'trip.priced', data: { totalCents: price.totalCents, drivingMs: times.drivingMs, parkingMs: times.parkingMs, distanceM, zoneId: place.zone.id, energyPct: place.energyPct } },
            { price, capture_cents: price.totalCents, distance_m: distanceM, end_zone_id: place.zone.id, paused_ms: times.parkingMs, paused_since: null, payment_status: 'pending' },
            clock.now(),
          );
          writes.push({ query: priced, orElse: () => Conflict('TRIP_NOT_FINISHING', 'the trip is no longer finishing', { tripId: trip.id }) });
          return { writes, result: { totalCents: price.totalCents } };
        },
      },
      {
        name: 'capture',
        invoke: async (ctx) => {
          const { paymentId } = ctx.results['begin-finishing'] as Begun;
          const trip = paymentId === undefined ? await requireTrip(tripLog, ctx.input.tripId) : { paymentId: paymentId ?? undefined };
          const { totalCents } = ctx.results['price'] as { totalCents: number };
          return captureTrip(payments, trip, totalCents, onBehalf(ctx.input));
        },
      },
      {
        name: 'finish',
        local: true,
        plan: async (ctx) => {
          const log = new SqlTripLog(ctx.db as Kysely<TripDatabase>);
          const begun = ctx.results['begin-finishing'] as Begun;
          const { endAt } = begun;
          const place = ctx.results['check-zone'] as EndPlace;
          const { distanceM } = ctx.results['measure-route'] as { distanceM: number };
          const { totalCents } = ctx.results['price'] as { totalCents: number };
          const captured = ctx.results['capture'] as CaptureResult;
          const trip =
            begun.currency === undefined
              ? await requireTrip(log, ctx.input.tripId).then((row) => ({ id: row.id, riderId: row.riderId, carId: row.carId, currency: row.tariff?.currency ?? 'EUR' }))
              : { id: ctx.input.tripId, riderId: ctx.input.riderId, carId: ctx.input.carId, currency: begun.currency };
          const paymentStatus = captured.status;
          const finished = log.changeQuery(
            trip.id,
            ['finishing'],
            'finished',
            { type: 'trip.finished', data: { totalCents, paymentStatus, captureError: captured.error ?? null } },
            { finished_at: new Date(endAt), payment_status: paymentStatus },
            clock.now(),
          );
          const event = events.create(TripFinished, trip.id, {
            tripId: trip.id,
            riderId: trip.riderId,
            carId: trip.carId,
            finishedAt: new Date(endAt).toISOString(),
            totalCents,
            currency: trip.currency,
            distanceM,
            zoneId: place.zone.id,
            paymentStatus: paymentStatus === 'captured' ? 'captured' : 'pending',
          });
          return {
            writes: [{ query: finished, orElse: () => Conflict('TRIP_NOT_FINISHING', 'the trip is no longer finishing', { tripId: trip.id }) }, { query: outbox.insert(event).compile(ctx.db) }],
            result: undefined,
            afterCommit: () => outbox.announce(),
          };
        },
      },
    ],
    { timeoutMs: recoverForwardMs },
  );
}

/**
 * The deadline of the sagas that lock a car. libs/saga compensates a saga found past its deadline
 * after a crash, and undoing a lock means unlocking a car whose rider may have walked away: so a
 * restart, however late, carries these forward instead. Each remote call is bounded by its own
 * RPC deadline (and the device command timeout), so nothing hangs for this long.
 */
export const recoverForwardMs = 24 * 60 * 60_000;

export type FinishTripSaga = ReturnType<typeof defineFinishTripSaga>;

export interface CaptureResult {
  status: 'captured' | 'pending' | 'failed';
  error?: string;
}

/**
 * Charges a priced trip: the payment service captures part of the hold, all of it, or more.
 * Never throws: a refusal is `failed` (an operator looks), anything else `pending` (retried with
 * the same amount, which the payment service keys per payment, so it charges once). A trip that
 * costs nothing voids its hold instead.
 */
export async function captureTrip(payments: PaymentPort, trip: Pick<TripRow, 'paymentId'>, totalCents: number, on: OnBehalf): Promise<CaptureResult> {
  if (!trip.paymentId) return { status: 'failed', error: 'NO_PAYMENT' };
  try {
    if (totalCents === 0) {
      await payments.void(trip.paymentId, on);
      return { status: 'captured' };
    }
    return await payments.capture(trip.paymentId, totalCents, on);
  } catch (error) {
    const reason = isAppError(error) ? error.reason : 'CAPTURE_ERROR';
    return { status: isFinalRefusal(error) ? 'failed' : 'pending', error: reason };
  }
}

/** The rider's error for a trip saga that compensated: the failed step's own kind. */
export function sagaError(outcome: SagaOutcome, tripId: string, failedReason: string, failedMessage: string): AppError {
  const error = outcome.error;
  if (!error || outcome.status === 'failed') return Unavailable(failedReason, failedMessage, { tripId, sagaId: outcome.id });
  const kinds: Record<string, (reason: string, message: string, details?: Record<string, unknown>) => AppError> = {
    FAILED_PRECONDITION: Conflict,
    NOT_FOUND: NotFound,
    DEADLINE_EXCEEDED: DeadlineExceeded,
  };
  const make = (error.code !== undefined && kinds[error.code]) || Unavailable;
  return make(error.reason, error.message, { tripId, sagaId: outcome.id, step: error.step });
}

export interface FinishTripUseCaseDeps {
  db: Kysely<TripDatabase>;
  runner: SagaRunner;
  saga: FinishTripSaga;
  cars: CarPort;
  settings: LiveConfig<TripSettings>;
  ids: { next(): string };
  clock: Clock;
}

const finishRetryAfterMs = 1_000;

/**
 * `FinishTrip {tripId}`: a finished trip answers as it is (one finish, one capture however often
 * it is asked); a finish under way is joined through its saga id; a running trip gets a new
 * finish saga.
 */
export function createFinishTrip(deps: FinishTripUseCaseDeps) {
  const log = new SqlTripLog(deps.db);

  async function join(sagaId: string, input: FinishTripInput): Promise<SagaOutcome> {
    try {
      return await deps.runner.run(deps.saga, input, { id: sagaId });
    } catch (error) {
      // Driven by another request or instance (a recovery after a crash): ask again shortly.
      if (isAppError(error) && (error.reason === 'SAGA_IN_PROGRESS' || error.reason === 'SAGA_INTERRUPTED')) {
        throw Unavailable('TRIP_FINISH_IN_PROGRESS', 'the trip is being finished; ask again in a moment for the result', { tripId: input.tripId, retryAfterMs: finishRetryAfterMs });
      }
      throw error;
    }
  }

  return async function finishTrip(input: { tripId: string }, caller: Caller | undefined, ctx?: CallContext): Promise<TripRow> {
    if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
    void ctx;
    const staff = caller.role === 'operator' || caller.role === 'admin';
    const trip = await log.find(input.tripId);
    if (!trip || (trip.riderId !== caller.userId && !staff)) throw NotFound('TRIP_NOT_FOUND', `no trip ${input.tripId}`, { tripId: input.tripId });
    if (trip.status === 'finished') return trip;
    const sagaInput: FinishTripInput = { tripId: trip.id, riderId: trip.riderId, carId: trip.carId, holderId: trip.reservationId ?? trip.id };
    let outcome: SagaOutcome;
    if (trip.status === 'finishing' && trip.finishSagaId) {
      outcome = await join(trip.finishSagaId, sagaInput);
    } else if (trip.status === 'in_progress' || trip.status === 'paused') {
      // Judged here first so the rider learns where to go (the saga's error carries no details);
      // the saga judges again from this same read while it is fresh, else from the car's report then.
      // Its age counts from the call: the answer may have been a while on its way.
      const readAt = deps.clock.now();
      const car = await deps.cars.getCar(trip.carId, { riderId: trip.riderId, ctx });
      judgeEnd(deps.settings.get(), car, trip.id);
      outcome = await join(deps.ids.next(), { ...sagaInput, carSeen: { ...car, at: readAt } });
    } else {
      throw Conflict('TRIP_NOT_IN_PROGRESS', `the trip is ${trip.status}`, { tripId: trip.id, current: trip.status });
    }
    if (outcome.status !== 'completed') {
      // Lost a race with another finish of the same trip: its outcome is the answer.
      const now = await log.find(trip.id);
      if (now?.status === 'finished') return now;
      if (now?.status === 'finishing' && now.finishSagaId && now.finishSagaId !== outcome.id) {
        const other = await join(now.finishSagaId, sagaInput);
        if (other.status === 'completed') return (await log.find(trip.id)) ?? now;
      }
      throw sagaError(outcome, trip.id, 'TRIP_FINISH_FAILED', 'the trip could not be finished; an operator has been alerted');
    }
    const finished = await log.find(trip.id);
    if (!finished) throw NotFound('TRIP_NOT_FOUND', `no trip ${input.tripId}`, { tripId: input.tripId });
    return finished;
  };
}

/**
 * Asks the payment service again for captures it has not confirmed (it was unreachable, or its
 * processor was down): the same amount under the same payment, so it charges once. Answers how
 * many are confirmed now.
 */
export async function retryPendingCaptures(deps: { db: Kysely<TripDatabase>; payments: PaymentPort; clock: Clock }, limit = 50): Promise<{ captured: number; pending: number }> {
  const log = new SqlTripLog(deps.db);
  let captured = 0;
  let pending = 0;
  for (const trip of await log.pendingCaptures(limit)) {
    if (trip.captureCents === undefined) continue;
    const result = await captureTrip(deps.payments, trip, trip.captureCents, { riderId: trip.riderId });
    if (result.status === 'pending') {
      pending += 1;
      continue;
    }
    await log.update(trip.id, ['finished'], { type: result.status === 'captured' ? 'trip.payment_captured' : 'trip.payment_failed', data: { error: result.error ?? null } }, { payment_status: result.status }, deps.clock.now());
    if (result.status === 'captured') captured += 1;
  }
  return { captured, pending };
}
