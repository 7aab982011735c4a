import { CarTelemetry, MAX_DEVICE_PAYLOAD_BYTES } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import type { Clock, Scheduler } from '@carshare/platform';
import type { MemoryRateLimitStore, RateLimitRule } from '@carshare/resilience';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { haversineMetres } from './domain/geo.ts';
import { judgeTelemetry, type TelemetryPoint, type TelemetryRejection, type TelemetryRules } from './domain/telemetry.ts';
import type { CarStore, DeviceCredential, TelemetryWrite, UnitOfWork } from './ports.ts';

export interface TelemetryIngestSettings extends TelemetryRules {
  /** Per-car allowance: a device reports every few seconds; more is a bug or an attack. */
  perCarLimit: RateLimitRule;
  /** At most one car.telemetry event per car per this interval (reports are far more frequent). */
  eventIntervalMs: number;
  /** A car whose reports repeat themselves gets a car.telemetry event this often. */
  eventHeartbeatMs: number;
  /** Accepted reports are written together, at least this often… */
  flushIntervalMs: number;
  /** …or as soon as this many wait. One batch is one PGlite call that holds the event loop. */
  maxBatch: number;
  /**
   * A moving car's row (last position) is written at most this often: its reports, every second
   * or two, still all count and still go to the history (below). Lock changes are written at once.
   */
  rowMinIntervalMs: number;
  /** A parked car repeating the same report refreshes its row (last report time) this often. */
  rowHeartbeatMs: number;
  /** A history point is kept when the car moved this far from the last kept one, its odometer or lock changed… */
  historyMinMoveM: number;
  /** …or this long after the last kept one. */
  historyHeartbeatMs: number;
  /** Accepted reports waiting to be written beyond which devices are read more slowly (MQTT backpressure). */
  maxBacklog: number;
}

export interface TelemetryIngestDeps {
  cars: CarStore;
  unitOfWork: UnitOfWork;
  events: EventFactory;
  clock: Clock;
  scheduler: Scheduler;
  limits: MemoryRateLimitStore;
  settings: TelemetryIngestSettings;
  onAccepted(carId: string): void;
  /** A car's newest position was stored. */
  onStored(carId: string, point: TelemetryPoint): void;
  onRejected(reason: TelemetryRejection): void;
  /** An offline car reported: the service moves it back to available. */
  cameBack(carId: string): Promise<void>;
  onFlushError(error: unknown): void;
}

export type IngestResult = { ok: true } | { ok: false; reason: TelemetryRejection };

interface CarMemory {
  lastTs: number;
  odometerKm: number;
  lastEventAt: number;
  /** What the last car.telemetry event said (point and state). */
  evented: { point: TelemetryPoint; state: string } | undefined;
  /** The point last queued for the car row, and when (our clock). */
  row: TelemetryPoint | undefined;
  rowAt: number;
  /** The point last queued for the history. */
  kept: TelemetryPoint | undefined;
}

const samePoint = (a: TelemetryPoint, b: TelemetryPoint): boolean =>
  a.lat === b.lat && a.lng === b.lng && a.locked === b.locked && a.energyPct === b.energyPct && a.odometerKm === b.odometerKm && a.speedKph === b.speedKph && a.headingDeg === b.headingDeg;

/**
 * The telemetry pipeline: size cap, per-car rate limit, the domain's rules against the last
 * accepted point, then a batched write (car row + history + throttled events in one transaction).
 * What it remembers per car (last timestamp, odometer) is what judging the next report needs;
 * a device is connected to one instance at a time, and an instance that first hears of a car
 * reads it from the database.
 */
export class TelemetryIngest {
  readonly #deps: TelemetryIngestDeps;
  readonly #memory = new Map<string, CarMemory>();
  #pending: TelemetryWrite[] = [];
  #waiters: Array<{ resolve(): void; reject(error: unknown): void }> = [];
  #timer: unknown;
  #flushing: Promise<void> = Promise.resolve();
  /** Queued or being written: what `maxBacklog` bounds. */
  #backlog = 0;
  #drained: { promise: Promise<void>; resolve(): void } | undefined;

  constructor(deps: TelemetryIngestDeps) {
    this.#deps = deps;
  }

  /**
   * Judges one report from an authenticated device. `payload` is the raw bytes (MQTT, HTTP) or an
   * already parsed value (Traccar mapping). Resolves once the report is stored when `durable`,
   * else as soon as it is queued. Never throws for bad input: the reason comes back and is counted.
   */
  async ingest(credential: DeviceCredential, payload: Uint8Array | string | object, durable: boolean): Promise<IngestResult> {
    const { clock, limits, settings } = this.#deps;
    let report: unknown = payload;
    if (typeof payload === 'string' || payload instanceof Uint8Array) {
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
      if (size > MAX_DEVICE_PAYLOAD_BYTES) return this.#reject('payload_too_large');
      try {
        report = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
      } catch {
        return this.#reject('malformed');
      }
    }
    const now = clock.now();
    // Before judging: a flood costs one map lookup per report, not a parse of the rules.
    if (!limits.consumeNow(credential.carId, settings.perCarLimit, 1, now).allowed) return this.#reject('rate_limited');
    const memory = this.#memoryOf(credential);
    const verdict = judgeTelemetry(report, memory.lastTs < 0 ? undefined : { ts: memory.lastTs, odometerKm: memory.odometerKm }, now, settings);
    if (!verdict.ok) return this.#reject(verdict.reason);
    const point = verdict.point;
    const previousOdometer = memory.odometerKm;
    memory.lastTs = point.ts;
    memory.odometerKm = point.odometerKm;
    this.#deps.onAccepted(credential.carId);
    // What a report changes decides what it costs: every write is PGlite/PostgreSQL work on the
    // event loop, and most of a fleet is parked, repeating itself. The judging above (rate limit,
    // monotonic odometer and time) used every report all the same.
    const history = this.#keepInHistory(memory, point, previousOdometer);
    const row = this.#rowDue(memory, point, now);
    if (!history && !row) return { ok: true };
    if (row) {
      memory.row = point;
      memory.rowAt = now;
    }
    if (history) memory.kept = point;
    const write: TelemetryWrite = { carId: credential.carId, point, seenAt: now, row, history };
    if (durable) {
      // The caller waits for the answer (HTTP): write now, with whatever else is queued.
      const stored = this.#enqueue(write, true);
      void this.flush();
      await stored;
    } else {
      void this.#enqueue(write, false);
    }
    return { ok: true };
  }

  /** Accepted reports not written yet. */
  get backlog(): number {
    return this.#backlog;
  }

  /**
   * Resolves at once while the backlog is under `maxBacklog`, else once it has drained to half of
   * it: the MQTT gateway holds a device's next packets until then (TCP backpressure), so a fleet
   * faster than the database is slowed down, never queued without bound or dropped.
   */
  whenWritable(): Promise<void> | undefined {
    if (this.#backlog < this.#deps.settings.maxBacklog) return undefined;
    if (!this.#drained) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#drained = { promise, resolve };
    }
    return this.#drained.promise;
  }

  #keepInHistory(memory: CarMemory, point: TelemetryPoint, previousOdometer: number): boolean {
    const kept = memory.kept;
    if (!kept) return true;
    const { historyMinMoveM, historyHeartbeatMs } = this.#deps.settings;
    return (
      point.odometerKm !== previousOdometer ||
      point.locked !== kept.locked ||
      point.ts - kept.ts >= historyHeartbeatMs ||
      haversineMetres(kept, point) >= historyMinMoveM
    );
  }

  #rowDue(memory: CarMemory, point: TelemetryPoint, now: number): boolean {
    const row = memory.row;
    // A car coming to rest is written at once: finishing a trip checks the zone against the row's
    // position, and a rider who parks and ends the trip at once must be judged where the car stands.
    if (!row || row.locked !== point.locked || (point.speedKph === 0 && row.speedKph !== 0)) return true;
    const { rowMinIntervalMs, rowHeartbeatMs } = this.#deps.settings;
    const age = now - memory.rowAt;
    return age >= rowHeartbeatMs || (age >= rowMinIntervalMs && !samePoint(row, point));
  }

  /** Writes what is queued now (tests, shutdown). */
  async flush(): Promise<void> {
    this.#deps.scheduler.clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    // Between two batches the event loop serves what waits (requests, other sockets): a batch is
    // one synchronous PGlite call, and back-to-back batches chained on promises alone never yield.
    const run = this.#flushing.then(async () => {
      await nextTurn();
      await this.#write(batch);
    });
    this.#flushing = run.catch(() => undefined);
    try {
      await run;
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      // The batch is lost, not retried: positions are superseded within seconds. The memory of
      // these cars is dropped so their next reports are judged against what was stored.
      for (const write of batch) this.#memory.delete(write.carId);
      this.#deps.onFlushError(error);
      for (const waiter of waiters) waiter.reject(error);
    } finally {
      this.#backlog -= batch.length;
      if (this.#drained && this.#backlog <= this.#deps.settings.maxBacklog / 2) {
        this.#drained.resolve();
        this.#drained = undefined;
      }
    }
  }

  /** Forget a car (deleted, or its secret rotated). */
  forget(carId: string): void {
    this.#memory.delete(carId);
  }

  #memoryOf(credential: DeviceCredential): CarMemory {
    let memory = this.#memory.get(credential.carId);
    if (!memory) {
      memory = { lastTs: credential.lastReportAt ?? -1, odometerKm: credential.odometerKm, lastEventAt: Number.NEGATIVE_INFINITY, evented: undefined, row: undefined, rowAt: 0, kept: undefined };
      this.#memory.set(credential.carId, memory);
    }
    return memory;
  }

  #reject(reason: TelemetryRejection): IngestResult {
    this.#deps.onRejected(reason);
    return { ok: false, reason };
  }

  #enqueue(write: TelemetryWrite, durable: boolean): Promise<void> | undefined {
    this.#pending.push(write);
    this.#backlog += 1;
    // A promise per report only for a caller that waits (HTTP): MQTT reports are fire and forget.
    const stored = durable ? new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject })) : undefined;
    if (this.#pending.length >= this.#deps.settings.maxBatch) void this.flush();
    else if (this.#timer === undefined) this.#timer = this.#deps.scheduler.setTimeout(() => void this.flush(), this.#deps.settings.flushIntervalMs);
    return stored;
  }

  async #write(batch: readonly TelemetryWrite[]): Promise<void> {
    if (batch.length === 0) return;
    const { unitOfWork, events, clock, settings } = this.#deps;
    const now = clock.now();
    const offline: string[] = [];
    await unitOfWork.run(async (tx) => {
      const states = await tx.cars.writeTelemetry(batch);
      const latest = new Map<string, TelemetryPoint>();
      for (const write of batch) if (write.row) latest.set(write.carId, write.point);
      // One outbox statement for the batch, not one per car: at 10,000 cars reporting each
      // second, a tenth of them are due an event in every batch.
      const due = [];
      for (const [carId, point] of latest) {
        const memory = this.#memory.get(carId);
        const state = states.get(carId);
        // No state: the car was deleted, or a newer report was already stored.
        if (!memory || state === undefined) continue;
        if (state === 'offline') offline.push(carId);
        if (now - memory.lastEventAt < settings.eventIntervalMs) continue;
        // A parked car's row refresh says nothing new to a live map: an event when something
        // changed, else one per eventHeartbeatMs (a late listener still hears of every car).
        const evented = memory.evented;
        if (evented && evented.state === state && samePoint(evented.point, point) && now - memory.lastEventAt < settings.eventHeartbeatMs) continue;
        memory.lastEventAt = now;
        memory.evented = { point, state };
        due.push(
          events.create(CarTelemetry, carId, {
            carId,
            ts: new Date(point.ts).toISOString(),
            lat: point.lat,
            lng: point.lng,
            speedKph: point.speedKph,
            headingDeg: point.headingDeg,
            energyPct: point.energyPct,
            odometerKm: point.odometerKm,
            locked: point.locked,
            state,
          }),
        );
      }
      await tx.events.add(due);
    });
    for (const write of batch) if (write.row) this.#deps.onStored(write.carId, write.point);
    for (const carId of offline) await this.#deps.cameBack(carId);
  }
}
