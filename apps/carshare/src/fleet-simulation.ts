import { generateCity } from '@carshare/city';
import { systemClock, systemScheduler } from '@carshare/platform';
import {
  FleetSimulator,
  FleetStore,
  GatewayCarRegistrar,
  mqttDeviceConnector,
  provisionFleet,
  type FailurePlan,
  type FleetCar,
  type SimulatorSettings,
} from '@carshare/simulator';

export interface FleetSimulationOptions {
  cars: number;
  /** The car service's device broker. */
  mqttUrl: string;
  /** The gateway, where missing cars are created through the operator API. */
  apiUrl: string;
  operator: { accessToken: string } | { email: string; password: string };
  /** fleet.json (ids, device secrets, last states) lives in `<dataDir>/simulator/`. */
  dataDir: string;
  settings?: Partial<SimulatorSettings>;
  failures?: FailurePlan;
  say: (message: string) => void;
}

export interface FleetSimulation {
  simulator: FleetSimulator;
  /** Saves every car's state to fleet.json, disconnects the devices. */
  stop(): Promise<void>;
}

/** How often the states are written to fleet.json while running, so a crash loses little odometer. */
const saveEveryMs = 60_000;

/**
 * `carshare simulate` and the fleet of `carshare up`: makes sure the cars exist (creating the
 * missing ones through the gateway, as an operator would), then connects one MQTT device per car.
 */
export async function startFleetSimulation(options: FleetSimulationOptions): Promise<FleetSimulation> {
  const { say } = options;
  const seed = options.settings?.seed ?? 1;
  // The same city the gateway serves at /v1/map/streets (both use the default city options).
  const city = generateCity();
  const store = new FleetStore(options.dataDir);
  const { cars, created } = await provisionFleet({
    count: options.cars,
    store,
    registrar: new GatewayCarRegistrar({ apiUrl: options.apiUrl, credentials: options.operator }),
    city,
    seed,
    onProgress: (done, missing) => {
      if (done % 500 === 0 || done === missing) say(`simulator: created ${done}/${missing} cars`);
    },
  });
  if (created > 0) say(`simulator: created ${created} cars through ${options.apiUrl}; their device secrets are in ${store.path}`);
  const simulator = new FleetSimulator({
    city,
    cars,
    connect: mqttDeviceConnector({ url: options.mqttUrl }),
    time: { clock: systemClock, scheduler: systemScheduler },
    settings: { ...options.settings, ...(options.failures && { failures: options.failures }) },
  });
  const started = performance.now();
  await simulator.start((connected, total) => say(`simulator: ${connected}/${total} devices connected`));
  say(`simulator: ${cars.length} devices connected to ${options.mqttUrl} in ${Math.round(performance.now() - started)} ms, reporting every ${simulator.settings.reportIntervalMs} ms`);

  const save = async () => {
    const states = simulator.snapshot();
    const all = await store.load();
    await store.save(all.map((car): FleetCar => ({ ...car, ...(states.has(car.carId) && { saved: states.get(car.carId) }) })));
  };
  const saver = setInterval(() => void save().catch((error: unknown) => say(`simulator: could not save fleet.json: ${(error as Error).message}`)), saveEveryMs);
  saver.unref();
  return {
    simulator,
    async stop() {
      clearInterval(saver);
      await simulator.stop();
      await save();
    },
  };
}
