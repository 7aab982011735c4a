import type { RandomSource, StreetNetwork } from '@carshare/city';
import { deviceTopics, DeviceCommand, type CommandAck } from '@carshare/contracts';
import { Compile } from 'typebox/compile';
import type { DeviceLink } from './device-link.ts';
import type { FailureModes } from './domain/failure-modes.ts';
import type { SimulatedCar } from './domain/simulated-car.ts';
import type { FleetStats } from './fleet-stats.ts';
import type { SimulationTime } from './simulation-time.ts';

const commandCheck = Compile(DeviceCommand);

export interface DeviceBehaviour {
  reportIntervalMs: number;
  /** How long the box takes to work the locks: [min, max], drawn per command. */
  commandDelayMs: readonly [number, number];
  /** A rider with an unlocked car sets off after this pause, and pauses this long between legs. */
  riderPauseMs: readonly [number, number];
  /** Trips not booked through the platform (staff moving cars, a busy city's background), per car per hour. */
  ambientTripsPerHour: number;
}

/** How many recent command ids a box remembers, to answer a redelivered command without acting twice. */
const rememberedCommands = 32;

/**
 * One telematics box: reports its car's telemetry on schedule, carries out lock and unlock after
 * a realistic delay and acknowledges them, and plays the rider who drives an unlocked car around.
 * Failure modes bend each of those on purpose. Timers come from the injected scheduler.
 */
export class SimulatedDevice {
  readonly car: SimulatedCar;
  readonly index: number;
  readonly failures: FailureModes;
  #link: DeviceLink | undefined;
  readonly #city: StreetNetwork;
  readonly #time: SimulationTime;
  readonly #random: RandomSource;
  readonly #behaviour: DeviceBehaviour;
  readonly #stats: FleetStats;
  readonly #acks = new Map<string, CommandAck>();
  readonly #timers = new Set<unknown>();
  #nextReportAt: number;
  #nextLegAt: number | undefined;
  #ambientTrip = false;
  #nextDropoutAt: number | undefined;
  #offlineUntil: number | undefined;
  #stopped = false;

  constructor(options: {
    car: SimulatedCar;
    index: number;
    city: StreetNetwork;
    time: SimulationTime;
    random: RandomSource;
    behaviour: DeviceBehaviour;
    failures: FailureModes;
    stats: FleetStats;
  }) {
    this.car = options.car;
    this.index = options.index;
    this.#city = options.city;
    this.#time = options.time;
    this.#random = options.random;
    this.#behaviour = options.behaviour;
    this.failures = options.failures;
    this.#stats = options.stats;
    const now = this.#time.clock.now();
    // Spread over one interval, so a fleet does not report in one burst every few seconds.
    this.#nextReportAt = now + Math.floor(this.#random() * this.#behaviour.reportIntervalMs);
    if (this.failures.dropouts) this.#nextDropoutAt = now + this.#exponential(this.failures.dropouts.meanIntervalMs);
  }

  get carId(): string {
    return this.car.carId;
  }

  get online(): boolean {
    return this.#offlineUntil === undefined && (this.#link?.connected ?? false);
  }

  attach(link: DeviceLink): void {
    this.#link = link;
  }

  /** Called by the fleet's ticker: move, maybe start or end a drive, maybe drop out, report when due. */
  tick(now: number, elapsedMs: number): void {
    if (this.#stopped) return;
    const car = this.car;
    const wasDriving = car.isDriving;
    car.advance(elapsedMs, this.#random);
    if (wasDriving && !car.isDriving) this.#arrived(now);
    if (!car.isDriving) {
      if (!car.state.locked && this.#nextLegAt !== undefined && now >= this.#nextLegAt) {
        this.#nextLegAt = undefined;
        this.#startTrip();
      } else if (car.state.locked && this.#behaviour.ambientTripsPerHour > 0 && this.#random() < (this.#behaviour.ambientTripsPerHour * elapsedMs) / 3_600_000) {
        car.setLocked(false);
        this.#ambientTrip = true;
        if (!this.#startTrip()) {
          car.setLocked(true);
          this.#ambientTrip = false;
        }
      }
    }
    this.#dropoutStep(now);
    if (now >= this.#nextReportAt) {
      this.#report(now);
      // Catch up by whole intervals after a long tick, but never report twice for one tick.
      const interval = this.#behaviour.reportIntervalMs;
      this.#nextReportAt += Math.max(1, Math.ceil((now + 1 - this.#nextReportAt) / interval)) * interval;
    }
  }

  /** A payload arrived on `cars/<id>/commands`. */
  receiveCommand(payload: string): void {
    if (this.#stopped) return;
    this.#stats.commandsReceived += 1;
    let command: unknown;
    try {
      command = JSON.parse(payload);
    } catch {
      command = undefined;
    }
    if (!commandCheck.Check(command)) {
      this.#stats.commandsInvalid += 1;
      return;
    }
    if (this.failures.neverAck) {
      this.#stats.commandsIgnored += 1;
      return;
    }
    const earlier = this.#acks.get(command.id);
    if (earlier) {
      // QoS 1 may deliver twice: answer again, act once.
      this.#sendAck(earlier);
      return;
    }
    const now = this.#time.clock.now();
    if (now > command.expiresAt) {
      this.#stats.commandsExpired += 1;
      this.#answer({ commandId: command.id, ok: false, locked: this.car.state.locked, ts: now, error: 'expired before it arrived' });
      return;
    }
    const [min, max] = this.#behaviour.commandDelayMs;
    this.#after(min + this.#random() * (max - min), () => this.#carryOut(command));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const handle of this.#timers) this.#time.scheduler.clearTimeout(handle);
    this.#timers.clear();
    await this.#link?.close();
  }

  #carryOut(command: DeviceCommand): void {
    const now = this.#time.clock.now();
    const car = this.car;
    if (now > command.expiresAt) {
      this.#stats.commandsExpired += 1;
      this.#answer({ commandId: command.id, ok: false, locked: car.state.locked, ts: now, error: 'expired before it could be carried out' });
      return;
    }
    if (this.failures.rejectCommands) {
      this.#stats.commandsRejected += 1;
      this.#answer({ commandId: command.id, ok: false, locked: car.state.locked, ts: now, error: 'actuator fault' });
      return;
    }
    const lock = command.type === 'lock';
    // A platform command ends any drive the box started on its own.
    this.#ambientTrip = false;
    car.setLocked(lock);
    this.#nextLegAt = lock ? undefined : now + this.#riderPause();
    this.#stats.commandsCarriedOut += 1;
    this.#answer({ commandId: command.id, ok: true, locked: lock, ts: now });
  }

  #answer(ack: CommandAck): void {
    this.#acks.set(ack.commandId, ack);
    if (this.#acks.size > rememberedCommands) this.#acks.delete(this.#acks.keys().next().value as string);
    const lateMs = this.failures.lateAckMs ?? 0;
    if (lateMs > 0) this.#after(lateMs, () => this.#sendAck(ack));
    else this.#sendAck(ack);
  }

  #sendAck(ack: CommandAck): void {
    if (!this.online) return;
    this.#link?.publish(deviceTopics.acks(this.carId), JSON.stringify(ack), 1);
    this.#stats.acksSent += 1;
  }

  #report(now: number): void {
    if (!this.online) {
      this.#stats.reportsSkipped += 1;
      return;
    }
    const drift = this.failures.gpsDriftM ?? 0;
    let position: { lat: number; lng: number } = this.car.state;
    if (drift > 0) {
      const metres = this.#random() * drift;
      const angle = this.#random() * 2 * Math.PI;
      position = {
        lat: position.lat + (metres * Math.cos(angle)) / 111_320,
        lng: position.lng + (metres * Math.sin(angle)) / (111_320 * Math.cos((position.lat * Math.PI) / 180)),
      };
    }
    this.#link?.publish(deviceTopics.telemetry(this.carId), JSON.stringify(this.car.report(now, position)), 0);
    this.#stats.reportsSent += 1;
  }

  #startTrip(): boolean {
    const started = this.car.driveTo(this.#city.randomPoint(this.#random));
    if (started) this.#stats.tripsStarted += 1;
    return started;
  }

  #arrived(now: number): void {
    if (this.#ambientTrip) {
      this.#ambientTrip = false;
      this.car.setLocked(true);
    } else if (!this.car.state.locked) {
      // The rider still has the car: another errand after a pause, until the platform locks it.
      this.#nextLegAt = now + this.#riderPause();
    }
  }

  #dropoutStep(now: number): void {
    const dropouts = this.failures.dropouts;
    if (!dropouts || !this.#link) return;
    if (this.#offlineUntil !== undefined && now >= this.#offlineUntil) {
      this.#offlineUntil = undefined;
      this.#nextDropoutAt = now + this.#exponential(dropouts.meanIntervalMs);
      void this.#link.reconnect().catch(() => undefined);
    } else if (this.#offlineUntil === undefined && this.#nextDropoutAt !== undefined && now >= this.#nextDropoutAt) {
      this.#offlineUntil = now + dropouts.durationMs;
      this.#stats.dropouts += 1;
      void this.#link.disconnect().catch(() => undefined);
    }
  }

  #riderPause(): number {
    const [min, max] = this.#behaviour.riderPauseMs;
    return min + this.#random() * (max - min);
  }

  #exponential(meanMs: number): number {
    return -Math.log(1 - this.#random()) * meanMs;
  }

  #after(ms: number, action: () => void): void {
    const handle = this.#time.scheduler.setTimeout(() => {
      this.#timers.delete(handle);
      if (!this.#stopped) action();
    }, ms);
    this.#timers.add(handle);
  }
}
