import type { CommandAck, DeviceCommand, EventEnvelope } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import type { Clock, IdGenerator, Scheduler } from '@carshare/platform';
import type { NearbyEntry, MemoryNearbyIndex } from './adapters/memory-nearby-index.ts';
import type { Car, CarCategory } from './domain/car.ts';
import type { CarState } from './domain/car-state.ts';
import type { BoundingBox } from './domain/geo.ts';
import type { TelemetryPoint } from './domain/telemetry.ts';

export type CarListSort = 'newest' | 'oldest' | 'energy_asc' | 'plate';

export interface CarListQuery {
  /** Rows to fetch (the service asks for one more than it shows). */
  limit: number;
  /** Keyset position: the sort value and id of the last car on the previous page. */
  after: { value: string | number; id: string } | undefined;
  sort: CarListSort;
  state: CarState | undefined;
  category: CarCategory | undefined;
  lowBatteryBelowPct: number | undefined;
  offline: boolean | undefined;
  /** Normalised as stored (normalizePlate). */
  plate: string | undefined;
}

export type CarChanges = Partial<
  Pick<Car, 'plate' | 'model' | 'category' | 'seats' | 'homeZone' | 'trackerId' | 'state' | 'reservationId' | 'locked'>
> & { secretHash?: string };

/** Last accepted position of one car, batched by the telemetry pipeline. */
export interface TelemetryWrite {
  carId: string;
  point: TelemetryPoint;
  /** Our clock when the report was accepted. */
  seenAt: number;
  /** Brings the car row (last position, last report) up to date. */
  row: boolean;
  /** Is a point of the car's history (trip distance). */
  history: boolean;
}

export interface StoredCommand {
  id: string;
  carId: string;
  type: 'lock' | 'unlock';
  reservationId: string | null;
  status: 'sent' | 'acked' | 'refused' | 'expired';
  expiresAt: number;
  createdAt: number;
}

export interface DeviceCredential {
  carId: string;
  secretHash: string;
  state: CarState;
  lastReportAt: number | null;
  odometerKm: number;
  locked: boolean;
}

/** Where cars live: SQL in the service's own schema (`db` may be a transaction). */
export interface CarStore {
  /** Fails with PLATE_TAKEN / VIN_TAKEN / TRACKER_TAKEN. */
  insert(car: Car, secretHash: string): Promise<void>;
  find(id: string): Promise<Car | undefined>;
  /** What checking a device and judging its next report needs, in one read. */
  findCredential(carId: string): Promise<DeviceCredential | undefined>;
  findCredentialByTracker(trackerId: string): Promise<DeviceCredential | undefined>;
  list(query: CarListQuery): Promise<Car[]>;
  /**
   * Applies `changes` only if the car is still at `expectedVersion` (UPDATE … WHERE version = v),
   * bumping the version: of two racing writers exactly one matches. Undefined when none did.
   */
  updateIfVersion(id: string, expectedVersion: number, changes: CarChanges, now: number): Promise<Car | undefined>;
  /** Deletes the car if it is idle; false when it was not (or is gone). */
  deleteIfIdle(id: string): Promise<boolean>;
  availableWithin(box: BoundingBox, category: CarCategory | undefined): Promise<Car[]>;
  /** Every car with a position, only what nearby search shows (the in-memory index reloads from it). */
  nearbyEntries(): Promise<NearbyEntry[]>;
  /** Available cars whose last report (or creation) is older than `before`. */
  silentSince(before: number, limit: number): Promise<Car[]>;
  /** Last position of each car and its history rows, in one go; answers the state of each car written. */
  writeTelemetry(writes: readonly TelemetryWrite[]): Promise<Map<string, CarState>>;
  /** Undefined when there is no such car. */
  telemetrySince(carId: string, since: number, afterTs: number | undefined, limit: number): Promise<TelemetryPoint[] | undefined>;
  pruneTelemetry(before: number): Promise<number>;
}

export interface CommandStore {
  insert(command: StoredCommand): Promise<void>;
  find(id: string): Promise<StoredCommand | undefined>;
  /**
   * Moves a `sent` command of `carId` to `status`, only if it is still sent and (for acks) not
   * past its deadline at `now`: of an ack and a timeout racing, exactly one settles it.
   */
  settle(id: string, carId: string, status: 'acked' | 'refused' | 'expired', now: number, error: string | undefined): Promise<StoredCommand | undefined>;
  /** Sent commands whose deadline has passed (their waiter may have died with its instance). */
  overdue(now: number, limit: number): Promise<StoredCommand[]>;
}

export interface EventOutbox {
  /** Several at once are one statement (telemetry writes hundreds per batch). */
  add(event: EventEnvelope | readonly EventEnvelope[]): Promise<void>;
}

export interface CarTransaction {
  cars: CarStore;
  commands: CommandStore;
  events: EventOutbox;
}

/** Runs work in one database transaction: state changes and their events commit together. */
export interface UnitOfWork {
  run<T>(work: (tx: CarTransaction) => Promise<T>): Promise<T>;
  /**
   * A state move, the command it sends and its events as one statement, no transaction: the car
   * moves only if it is in `from` (and held for `heldFor`), and the command and the events are
   * written only if it moved. Answers the moved car, undefined when it did not match.
   */
  move(move: RecordedMove): Promise<Car | undefined>;
  /**
   * Settles a sent command of `carId` and moves its car on, with their events, as one statement:
   * what the car becomes and which events are written depend on the command's type, which only
   * the settle finds out. Undefined when the command was not settled (unknown, settled already,
   * or an answer past its deadline).
   */
  settle(settle: RecordedSettle): Promise<SettledCommand | undefined>;
}

/** One command type's side of a settlement: the car moves `from` → `to` only if it is in `from`. */
export interface SettleMove {
  from: CarState;
  to: CarState;
  /** The hold ends with the move (a confirmed lock). */
  releases: boolean;
  /** Written if the command settled (an ack's car.command_acked). */
  settledEvents: readonly EventEnvelope[];
  /** Written if the car moved too; a car.state_changed event gets the moved row's version and the hold it had. */
  movedEvents: readonly EventEnvelope[];
}

export interface RecordedSettle {
  commandId: string;
  carId: string;
  status: 'acked' | 'refused' | 'expired';
  now: number;
  error: string | undefined;
  /** The lock state the device acknowledged, absent without an ack. */
  locked?: boolean;
  byType: Record<StoredCommand['type'], SettleMove>;
}

export interface SettledCommand {
  command: StoredCommand;
  /** The car as it is now (moved or not); undefined when it was deleted. */
  car: Car | undefined;
  moved: boolean;
}

export interface RecordedMove {
  carId: string;
  from: CarState;
  to: CarState;
  heldFor?: string;
  /** The hold after the move; unchanged when absent. */
  reservationId?: string | null;
  now: number;
  command?: StoredCommand;
  /** In order; a car.state_changed event's data.version is set to the moved row's version. */
  events: readonly EventEnvelope[];
}

/** How a settled command reached its end; `expired` when nobody answered before the deadline. */
export type CommandOutcome = {
  status: 'acked' | 'refused';
  ack: CommandAck;
  /** The car as the settlement left it: the waiting caller's answer without reading it again. */
  car?: Car | undefined;
} | { status: 'expired' };

/**
 * The way to the devices and back, across every instance of the service: commands go to whichever
 * instance holds the device's connection; settled outcomes come back to whichever instance waits.
 */
export interface DeviceLink {
  sendCommand(carId: string, command: DeviceCommand): Promise<void>;
  /** Tells every instance that a command was settled (the waiting one answers its caller). */
  announceSettled(commandId: string, outcome: CommandOutcome): Promise<void>;
  onSettled(listener: (commandId: string, outcome: CommandOutcome) => void): void;
}

/** Device secrets: issued at random, stored only as a keyed hash. */
export interface DeviceSecrets {
  issue(): { secret: string; hash: string };
  matches(secret: string, hash: string): boolean;
}

export interface CarServicePorts {
  cars: CarStore;
  commands: CommandStore;
  unitOfWork: UnitOfWork;
  events: EventFactory;
  devices: DeviceLink;
  secrets: DeviceSecrets;
  /** Nearby search (ADR 0015); kept current by the use cases that move or change cars. */
  nearbyIndex: MemoryNearbyIndex;
  clock: Clock;
  scheduler: Scheduler;
  ids: IdGenerator;
  settings: CarServiceSettings;
}

export interface CarServiceSettings {
  /** How long a device has to acknowledge lock/unlock. */
  commandTimeoutMs: number;
  /** Silence after which an available car is offline. */
  offlineAfterMs: number;
}
