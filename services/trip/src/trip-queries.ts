import { createHash } from 'node:crypto';
import { Conflict, InvalidArgument, NotFound, PermissionDenied, Unauthenticated, type CallContext, type Caller, type Clock, type LiveConfig } from '@carshare/platform';
import type { SagaRecord, SagaRunner } from '@carshare/saga';
import type { Kysely } from 'kysely';
import { SqlReservationStore } from './adapters/sql-reservation-store.ts';
import { SqlTripLog, type TripEventRecord, type TripListQuery, type TripRow } from './adapters/sql-trip-log.ts';
import type { TripDatabase } from './adapters/trip-database.ts';
import type { ZoneFeature } from './config.ts';
import { priceTrip, startedMinutes, type ReceiptLine } from './domain/pricing.ts';
import { isHolding, tripExtensionFees, type Reservation } from './domain/reservation.ts';
import type { IdleRiders } from './idle-riders.ts';
import { routeDistanceM, tripTimes } from './domain/route.ts';
import type { CarPort, TripSettings } from './ports.ts';

const isStaff = (caller: Caller) => caller.role === 'operator' || caller.role === 'admin';

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  return caller;
}

function requireStaff(caller: Caller | undefined): Caller {
  const who = requireCaller(caller);
  if (!isStaff(who)) throw PermissionDenied('STAFF_ONLY', 'only operators may do this');
  return who;
}

export interface LiveFee {
  drivingMinutes: number;
  parkingMinutes: number;
  distanceM: number;
  estimateCents: number;
  /** Of the estimate, the paid extension of the hold. */
  extensionFeeCents: number;
  currency: string;
  packageApplied: string | undefined;
  asOf: number;
}

export interface Receipt {
  trip: TripRow;
  meteredLines: ReceiptLine[];
  meteredCents: number;
  packageApplied: { name: string; count: number; cents: number; savedCents: number } | undefined;
  feeLines: ReceiptLine[];
  totalCents: number;
  vatCents: number;
  vatRate: number;
  currency: string;
  tariffVersion: string;
  depositReleasedCents: number;
  extraChargeCents: number;
  endZone: { id: string; name: string };
  startedAt: number;
  finishedAt: number;
}

export interface TimelineSaga {
  record: SagaRecord;
}

export interface QueryDeps {
  db: Kysely<TripDatabase>;
  cars: CarPort;
  runner: SagaRunner;
  settings: LiveConfig<TripSettings>;
  clock: Clock;
  logger?: { warn(details: object, message: string): void } | undefined;
  /** Riders known to hold nothing right now: GetMyActivity answers them without the database. */
  idleRiders?: IdleRiders | undefined;
}

/** A short fingerprint of the zones: changes whenever an operator edits them (a reload). */
export function zonesVersion(zones: readonly ZoneFeature[]): string {
  return createHash('sha256').update(JSON.stringify(zones)).digest('base64url').slice(0, 12);
}

/** Reads of trips: the rider's own, staff's all, receipts and the live fee. */
/** A trip that is not over yet: the rider's one live trip (trips_one_live_per_rider). */
const liveTripStatuses = ['starting', 'in_progress', 'paused', 'finishing'] as const;

export function createTripQueries(deps: QueryDeps) {
  const log = new SqlTripLog(deps.db);
  const reservationStore = new SqlReservationStore(deps.db);

  async function visibleTrip(tripId: string, caller: Caller | undefined): Promise<TripRow> {
    const who = requireCaller(caller);
    const trip = await log.find(tripId);
    // Someone else's trip is "not found": its existence is not theirs to learn.
    if (!trip || (trip.riderId !== who.userId && !isStaff(who))) throw NotFound('TRIP_NOT_FOUND', `no trip ${tripId}`, { tripId });
    return trip;
  }

  /**
   * What a running trip costs so far, by its own tariff: started minutes at the driving and
   * parking rates and the metres the car reported, capped by a package as the final price is.
   * Fees that depend on where and how it ends are not in it; a paid extension of its hold is. Undefined when the car service
   * cannot tell the distance right now: the trip still shows, without an estimate.
   */
  async function liveFee(trip: TripRow, ctx: CallContext | undefined): Promise<LiveFee | undefined> {
    if ((trip.status !== 'in_progress' && trip.status !== 'paused') || !trip.tariff || trip.startedAt === undefined) return undefined;
    const now = deps.clock.now();
    let distanceM: number;
    try {
      const points = await deps.cars.telemetrySince(trip.carId, trip.startedAt, { riderId: trip.riderId, ctx });
      distanceM = routeDistanceM(points, trip.startedAt, now);
    } catch (error) {
      deps.logger?.warn({ err: error, tripId: trip.id }, 'live fee without telemetry: the car service did not answer');
      return undefined;
    }
    const times = tripTimes({ startedAt: trip.startedAt, pausedMs: trip.pausedMs, pausedSince: trip.pausedSince }, now);
    // The fees already owed whatever the end (a paid extension of the hold) are in it, as the
    // receipt will carry them: the estimate and the receipt agree for the same minutes and km.
    const fees = trip.reservationId === undefined ? [] : tripExtensionFees(await reservationStore.find(trip.reservationId));
    const price = priceTrip(trip.tariff, { ...times, distanceM, fees });
    return {
      drivingMinutes: startedMinutes(times.drivingMs),
      parkingMinutes: startedMinutes(times.parkingMs),
      distanceM,
      estimateCents: price.totalCents,
      extensionFeeCents: fees.reduce((sum, fee) => sum + fee.cents, 0),
      currency: price.currency,
      packageApplied: price.packageApplied?.name,
      asOf: now,
    };
  }

  return {
    async getTripView(input: { tripId: string }, caller: Caller | undefined, ctx?: CallContext): Promise<{ trip: TripRow; liveFee: LiveFee | undefined }> {
      const trip = await visibleTrip(input.tripId, caller);
      return { trip, liveFee: await liveFee(trip, ctx) };
    },

    /**
     * The rider's active reservation and live trip, for /v1/me: two indexed reads (the live trip's
     * id, then the trip only when there is one), so a rider with neither costs two small statements.
     */
    async getMyActivity(caller: Caller | undefined): Promise<{ reservation: Reservation | undefined; trip: TripRow | undefined }> {
      const rider = requireCaller(caller);
      const idle = deps.idleRiders;
      if (idle?.isIdle(rider.userId)) return { reservation: undefined, trip: undefined };
      const ticket = idle?.ticket();
      const [reservation, live] = await Promise.all([
        reservationStore.findActiveByRider(rider.userId),
        deps.db.selectFrom('trips').select('id').where('rider_id', '=', rider.userId).where('status', 'in', liveTripStatuses).executeTakeFirst(),
      ]);
      const trip = live ? await log.find(live.id) : undefined;
      const holding = reservation && isHolding(reservation, deps.clock.now()) ? reservation : undefined;
      if (!holding && !trip && ticket !== undefined) idle?.remember(rider.userId, ticket);
      return { reservation: holding, trip };
    },

    async listMyTrips(input: { limit: number; cursor?: string | undefined }, caller: Caller | undefined) {
      const who = requireCaller(caller);
      return log.list({ limit: input.limit, cursor: input.cursor, riderId: who.userId });
    },

    async listTrips(input: { limit: number; cursor?: string | undefined; status?: TripListQuery['status']; riderId?: string | undefined; carId?: string | undefined; from?: string | undefined; to?: string | undefined }, caller: Caller | undefined) {
      requireStaff(caller);
      const from = input.from === undefined ? undefined : Date.parse(input.from);
      const to = input.to === undefined ? undefined : Date.parse(input.to);
      if (from !== undefined && to !== undefined && from >= to) throw InvalidArgument('INVALID_TIME_RANGE', '`from` must be before `to`', { from: input.from, to: input.to });
      return log.list({ limit: input.limit, cursor: input.cursor, status: input.status, riderId: input.riderId, carId: input.carId, from, to });
    },

    /** The trip's own event log, in order, and every saga that drove it (start, pauses, finishes). */
    async getTimeline(input: { tripId: string }, caller: Caller | undefined): Promise<{ trip: TripRow; events: TripEventRecord[]; sagas: SagaRecord[] }> {
      requireStaff(caller);
      const trip = await visibleTrip(input.tripId, caller);
      const events = await log.events(trip.id);
      // The start saga's id is the trip id; every later saga names itself in the event it wrote.
      const sagaIds = new Set<string>([trip.id]);
      for (const event of events) {
        const sagaId = event.data['sagaId'];
        if (typeof sagaId === 'string') sagaIds.add(sagaId);
      }
      const sagas: SagaRecord[] = [];
      for (const id of sagaIds) {
        const record = await deps.runner.get(id);
        if (record) sagas.push(record);
      }
      sagas.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      return { trip, events, sagas };
    },

    /** A finished trip's receipt, from the price recorded when it was finished (never re-priced). */
    async getReceipt(input: { tripId: string }, caller: Caller | undefined): Promise<Receipt> {
      const trip = await visibleTrip(input.tripId, caller);
      const price = trip.price;
      if (trip.status !== 'finished' || !price || trip.finishedAt === undefined || trip.startedAt === undefined) {
        throw Conflict('TRIP_NOT_FINISHED', 'a receipt exists once the trip is finished', { tripId: trip.id, current: trip.status });
      }
      return {
        trip,
        meteredLines: price.meteredLines,
        meteredCents: price.meteredCents,
        packageApplied: price.packageApplied,
        feeLines: price.feeLines,
        totalCents: price.totalCents,
        vatCents: price.vatCents,
        vatRate: price.vatRate,
        currency: price.currency,
        tariffVersion: price.tariffVersion,
        depositReleasedCents: Math.max(0, trip.depositCents - price.totalCents),
        extraChargeCents: Math.max(0, price.totalCents - trip.depositCents),
        endZone: price.endZone,
        startedAt: trip.startedAt,
        finishedAt: trip.finishedAt,
      };
    },

    /** The operating areas as they are now (a reload shows at once). */
    getZones(): { zones: ZoneFeature[]; version: string } {
      const zones = deps.settings.get().zones;
      return { zones, version: zonesVersion(zones) };
    },
  };
}

export type TripQueries = ReturnType<typeof createTripQueries>;
