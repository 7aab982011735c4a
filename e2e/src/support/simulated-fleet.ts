import { generateCity, type StreetNetwork } from '@carshare/city';
import { systemClock, systemScheduler } from '@carshare/platform';
import { FleetSimulator, FleetStore, GatewayCarRegistrar, mqttDeviceConnector, provisionFleet, type FleetCar, type SimulatorSettings } from '@carshare/simulator';

export interface SimulatedFleet {
  city: StreetNetwork;
  simulator: FleetSimulator;
  cars: FleetCar[];
  stop(): Promise<void>;
}

/**
 * Devices that answer quickly: tests wait for acks and drives in real time, so the box's actuator
 * delay, the rider's pause before driving off and the report interval are cut to milliseconds.
 */
export const briskDevices: Partial<SimulatorSettings> = {
  reportIntervalMs: 250,
  tickMs: 100,
  commandDelayMs: [10, 40],
  riderPauseMs: [100, 300],
  ambientTripsPerHour: 0,
};

/**
 * `count` simulated cars created through the operator API (as `carshare up`'s fleet is) and
 * connected to the car service's device broker over MQTT with their own credentials, on the wall
 * clock: the car service times command acks in real time.
 */
export async function startSimulatedFleet(options: {
  apiUrl: string;
  mqttUrl: string;
  operator: { email: string; password: string };
  count: number;
  /** fleet.json goes here. */
  dataDir: string;
  settings?: Partial<SimulatorSettings>;
}): Promise<SimulatedFleet> {
  const city = generateCity();
  const settings = { ...briskDevices, ...options.settings };
  const { cars } = await provisionFleet({
    count: options.count,
    store: new FleetStore(options.dataDir),
    registrar: new GatewayCarRegistrar({ apiUrl: options.apiUrl, credentials: options.operator }),
    city,
    seed: settings.seed ?? 1,
  });
  const simulator = new FleetSimulator({ city, cars, connect: mqttDeviceConnector({ url: options.mqttUrl }), time: { clock: systemClock, scheduler: systemScheduler }, settings });
  await simulator.start();
  return { city, simulator, cars, stop: () => simulator.stop() };
}
