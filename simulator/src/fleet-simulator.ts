import type { StreetNetwork } from '@carshare/city';
import { placeCar } from './domain/car-placement.ts';
import type { DeviceConnector } from './device-link.ts';
import { failureModesFor, type FailurePlan } from './domain/failure-modes.ts';
import { SimulatedCar } from './domain/simulated-car.ts';
import { FleetStats } from './fleet-stats.ts';
import { SimulatedDevice, type DeviceBehaviour } from './simulated-device.ts';
import type { SimulationTime } from './simulation-time.ts';

/** Where a car was when the simulator last stopped, so a restart goes on from there (odometers never go back). */
export interface SavedCarState {
  lat: number;
  lng: number;
  edgeId: number;
  offsetM: number;
  odometerKm: number;
  energyPct: number;
  locked: boolean;
}

export interface FleetCar {
  carId: string;
  /** The device secret the car service issued for this car. */
  secret: string;
  /** The plate it was registered with (`simulatedPlate(index)`); files written before it was kept lack it. */
  plate?: string;
  saved?: SavedCarState;
}

export interface SimulatorSettings extends DeviceBehaviour {
  /** How often every car moves on and is checked for a due report. */
  tickMs: number;
  /** The fleet's randomness: same seed, same starting positions and trips. */
  seed: number;
  failures?: FailurePlan;
  /** Devices connecting at once: a burst of thousands of CONNECTs is a broker's bad day, not a fleet's. */
  connectConcurrency: number;
}

/**
 * A large fleet moves on in slices of at most this many cars, spread over the tick: real boxes
 * report on their own clocks, so a fleet's reports arrive spread out. Ticking 5,000 cars at once
 * sent ~2,500 reports in the same millisecond every second, and the platform's event loop spent
 * that burst on them while every request waited (a p99 of ~50 ms on `/health/live`, 2026-12-06).
 */
const maxDevicesPerSlice = 250;
/** Slices are never closer together than this: a small fleet or a short tick moves all at once. */
const minSliceIntervalMs = 50;

export const defaultSimulatorSettings: SimulatorSettings = {
  reportIntervalMs: 5_000,
  tickMs: 1_000,
  commandDelayMs: [800, 2_500],
  riderPauseMs: [20_000, 90_000],
  ambientTripsPerHour: 0.5,
  seed: 1,
  connectConcurrency: 100,
};

/**
 * The simulated fleet: one {@link SimulatedDevice} per car, each with its own connection made by
 * `connect` (over MQTT with the car's credentials, as a real box), all moved on by one ticker.
 */
export class FleetSimulator {
  readonly stats = new FleetStats();
  readonly devices: readonly SimulatedDevice[];
  readonly #time: SimulationTime;
  readonly #settings: SimulatorSettings;
  readonly #connect: DeviceConnector;
  readonly #city: StreetNetwork;
  #ticker: unknown;
  /** The fleet moves on in this many interleaved slices per tick, one slice at a time. */
  readonly #slices: number;
  #nextSlice = 0;
  readonly #lastTickAt: number[];
  #running = false;

  constructor(options: { city: StreetNetwork; cars: readonly FleetCar[]; connect: DeviceConnector; time: SimulationTime; settings?: Partial<SimulatorSettings> }) {
    this.#time = options.time;
    this.#settings = { ...defaultSimulatorSettings, ...options.settings };
    this.#connect = options.connect;
    this.#city = options.city;
    this.devices = options.cars.map((fleetCar, index) => {
      const placement = placeCar(this.#city, this.#settings.seed, index);
      const random = placement.random;
      const car = new SimulatedCar(fleetCar.carId, this.#city, fleetCar.saved ?? placement.start, placement.profile, fleetCar.saved ?? placement);
      const device = new SimulatedDevice({
        car,
        index,
        city: this.#city,
        time: this.#time,
        random,
        behaviour: this.#settings,
        failures: failureModesFor(this.#settings.failures, fleetCar.carId, index),
        stats: this.stats,
      });
      return device;
    });
    this.#secrets = new Map(options.cars.map((car) => [car.carId, car.secret]));
    this.#slices = Math.max(1, Math.min(Math.ceil(this.devices.length / maxDevicesPerSlice), Math.floor(this.#settings.tickMs / minSliceIntervalMs)));
    this.#lastTickAt = new Array<number>(this.#slices).fill(0);
  }

  readonly #secrets: Map<string, string>;

  get settings(): Readonly<SimulatorSettings> {
    return this.#settings;
  }

  /**
   * Every device reports at this interval from its next report on (a benchmark measures the
   * ingest ceiling at one rate and the platform at another without reconnecting the fleet).
   */
  setReportInterval(ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`a report interval is a positive number of ms, not ${ms}`);
    // The devices read the behaviour they were given, this object, at each report.
    this.#settings.reportIntervalMs = ms;
  }

  /** Connects every device (a bounded number at a time), then starts the ticker. */
  async start(onProgress?: (connected: number, total: number) => void): Promise<void> {
    let next = 0;
    let connected = 0;
    const worker = async () => {
      while (next < this.devices.length) {
        const device = this.devices[next++] as SimulatedDevice;
        const link = await this.#connect({ carId: device.carId, secret: this.#secrets.get(device.carId) as string }, (payload) => device.receiveCommand(payload));
        device.attach(link);
        connected += 1;
        if (connected % 1000 === 0) onProgress?.(connected, this.devices.length);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.#settings.connectConcurrency, this.devices.length) }, worker));
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.#running = true;
    this.#lastTickAt.fill(this.#time.clock.now());
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#ticker !== undefined) this.#time.scheduler.clearTimeout(this.#ticker);
    this.#ticker = undefined;
    await Promise.all(this.devices.map((device) => device.stop()));
  }

  /** Every car's state now, for fleet.json. */
  snapshot(): Map<string, SavedCarState> {
    const saved = new Map<string, SavedCarState>();
    for (const device of this.devices) {
      const { lat, lng, edgeId, offsetM } = device.car.streetPoint();
      const { odometerKm, energyPct, locked } = device.car.state;
      saved.set(device.carId, { lat, lng, edgeId, offsetM, odometerKm, energyPct, locked });
    }
    return saved;
  }

  /**
   * Moves the next slice of the fleet on by the time since that slice last moved (a late timer
   * just means a longer step); every car moves once a tick.
   */
  tick(): void {
    const slice = this.#nextSlice;
    this.#nextSlice = (slice + 1) % this.#slices;
    const now = this.#time.clock.now();
    const elapsedMs = Math.max(0, now - (this.#lastTickAt[slice] as number));
    this.#lastTickAt[slice] = now;
    const devices = this.devices;
    for (let index = slice; index < devices.length; index += this.#slices) (devices[index] as SimulatedDevice).tick(now, elapsedMs);
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#ticker = this.#time.scheduler.setTimeout(() => {
      this.tick();
      this.#schedule();
    }, this.#settings.tickMs / this.#slices);
  }
}
