import type { EventEnvelope } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import type { CallContext, Clock, IdGenerator, LiveConfig, Scheduler } from '@carshare/platform';
import type { Kysely, RawBuilder } from 'kysely';
import type { TripDatabase } from './adapters/trip-database.ts';
import type { Reservation } from './domain/reservation.ts';
import type { RoutePoint } from './domain/route.ts';
import type { TripConfig } from './config.ts';
import type { IdleRiders } from './idle-riders.ts';

/** Reservations in the service's own schema (SQL), or memory in use-case tests. */
export interface ReservationStore {
  /** Refuses a second active reservation of one rider: Conflict RESERVATION_EXISTS. */
  insert(reservation: Reservation): Promise<void>;
  /** Takes back a reservation whose car claim failed: it never held anything. */
  remove(id: string): Promise<void>;
  find(id: string): Promise<Reservation | undefined>;
  findActiveByRider(riderId: string): Promise<Reservation | undefined>;
  /**
   * Writes `ended` only if the stored one is still active: of a cancel and the sweeper racing,
   * exactly one ends it. Answers whether this call did.
   */
  end(ended: Reservation): Promise<boolean>;
  /** Active reservations whose hold ran out by `now`, oldest deadline first. */
  expiredBy(now: number, limit: number): Promise<Reservation[]>;
  /**
   * Writes the extension only if the stored reservation is still active, not extended and its
   * hold not run out by `now`: of two extensions racing, or one racing the sweeper, one wins.
   */
  extend(extended: Reservation, now: number): Promise<boolean>;
  /** Moves an owed extension fee on (to a trip's receipt, charged alone, or waived); false if it was not owed any more. */
  settleFee(id: string, to: 'on_trip' | 'charged' | 'failed' | 'waived'): Promise<boolean>;
  /** Ended reservations whose extension fee is still to be charged alone, oldest end first. */
  feesOwed(limit: number): Promise<Reservation[]>;
}

/**
 * Reservations converted into a trip that failed to start, their extension fee still owed and no
 * later trip of theirs under way: what the sweep settles when the start itself could not (a crash,
 * a payment service that did not answer). `reasonOf` is why that start failed (its saga's error).
 */
export interface FailedStartFees {
  owing(limit: number): Promise<{ reservationId: string; tripId: string }[]>;
  reasonOf(tripId: string): Promise<string | undefined>;
}

export interface EventOutbox {
  add(event: EventEnvelope): Promise<void>;
}

/** The service's outbox (libs/messaging' Outbox): events are written with the change they tell of. */
export interface TripOutbox {
  /** Inside the transaction that makes the change. */
  add(trx: Kysely<TripDatabase>, events: EventEnvelope | readonly EventEnvelope[]): Promise<void>;
  /** As a statement for the batch that makes the change; `announce()` once it committed. */
  insert(events: EventEnvelope | readonly EventEnvelope[]): RawBuilder<unknown>;
  announce(): void;
}

export interface TripTransaction {
  reservations: ReservationStore;
  events: EventOutbox;
}

/** Runs work in one database transaction: state changes and their events commit together. */
export interface UnitOfWork {
  run<T>(work: (tx: TripTransaction) => Promise<T>): Promise<T>;
}

/**
 * On whose behalf a call to another service is made: the rider, under the request that asked
 * (its deadline and trace), or on its own (the sweeper) with a budget of the adapter's.
 */
export interface OnBehalf {
  riderId: string;
  ctx?: CallContext | undefined;
}

/** What the trip service asks of the car service (car.Claim/Release/…); errors pass through typed. */
export interface CarPort {
  claim(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<{ category: string }>;
  release(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<void>;
  /** Answers once the device acknowledged; DEVICE_DID_NOT_ANSWER / DEVICE_REFUSED otherwise (the car stays reserved). */
  unlock(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<void>;
  /** Locks at the end of use (device ack); the car service then makes the car available again. */
  lock(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<void>;
  /** Where the car is and how much energy it has, from its last report. */
  getCar(carId: string, on: OnBehalf): Promise<CarSnapshot>;
  /** The car's accepted telemetry points since `since`, oldest first, every page. */
  telemetrySince(carId: string, since: number, on: OnBehalf): Promise<RoutePoint[]>;
}

export interface CarSnapshot {
  position: { lat: number; lng: number } | undefined;
  energyPct: number;
  state: string;
  reservationId: string | undefined;
}

/** What the trip service asks of the payment service: one payment per reference (the trip id). */
export interface PaymentPort {
  authorize(input: { riderId: string; reference: string; amountCents: number }, on: OnBehalf): Promise<{ paymentId: string }>;
  void(paymentId: string, on: OnBehalf): Promise<void>;
  /**
   * Charges `amountCents` against the hold (less, equal or more). `captured` when done,
   * `pending` when the payment service keeps it for its retry worker (a processor outage).
   */
  capture(paymentId: string, amountCents: number, on: OnBehalf): Promise<{ status: 'captured' | 'pending' }>;
  /**
   * Charges a fee on its own (hold and capture), once per reference however often asked:
   * `charged`; `charging` while the payment service finishes it; `failed` when the card or the
   * processor refused it, which the payment service keeps for an operator to retry or waive.
   */
  chargeFee(input: { riderId: string; reference: string; amountCents: number; description: string }, on: OnBehalf): Promise<{ status: 'charging' | 'charged' | 'failed' | 'waived' }>;
  /** The payment of a reference, or undefined: how a hold in doubt is found again. */
  findByReference(reference: string, on: OnBehalf): Promise<{ paymentId: string; status: string } | undefined>;
}

/** What the trip service asks of the profile service. */
export interface ProfilePort {
  /** Verified and the licence not expired; false for a rider without a profile. */
  isVerified(on: OnBehalf): Promise<boolean>;
}

/** What the trip service asks of the user service. */
export interface AccountPort {
  /** The rider confirmed their address (DOMAIN: unverified accounts may log in but not reserve). */
  isEmailVerified(on: OnBehalf): Promise<boolean>;
}

/** The parts of config that may change while the service runs. */
export type TripSettings = Pick<TripConfig, 'tariffs' | 'zones' | 'reservations' | 'deposits' | 'lowEnergy'>;

export interface TripPorts {
  reservations: ReservationStore;
  unitOfWork: UnitOfWork;
  events: EventFactory;
  cars: CarPort;
  profiles: ProfilePort;
  accounts: AccountPort;
  /** Charges an extension fee that no trip carries (the reservation was cancelled or expired). */
  payments: PaymentPort;
  settings: LiveConfig<TripSettings>;
  clock: Clock;
  scheduler: Scheduler;
  ids: IdGenerator;
  /** Extension fees left owed by failed trip starts (SQL over reservations and trips, and the saga log). */
  failedStarts?: FailedStartFees | undefined;
  /** Told when a rider stops holding nothing (a reservation made), so /v1/me shows it at once. */
  idleRiders?: IdleRiders | undefined;
}
