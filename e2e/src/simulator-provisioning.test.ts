import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCity } from '@carshare/city';
import { serviceRegistry } from '@carshare/cli';
import { systemClock, systemScheduler } from '@carshare/platform';
import { FleetSimulator, FleetStore, GatewayCarRegistrar, MqttDeviceLink, mqttDeviceConnector, provisionFleet, simulatedPlate, type FleetCar } from '@carshare/simulator';
import { demoAccounts } from '@carshare/user-service';
import { briskDevices } from './support/simulated-fleet.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

// Issue 10: the simulator's provisioning is idempotent against a real embedded platform. Every
// "restart" is a new FleetStore and a new registrar on the same state folder, as a new
// `carshare simulate` process would make; the cars are made through the real operator API and
// the devices connect to the real car service's MQTT gateway with the credentials it ends with.

const city = generateCity();

describe('simulator provisioning, run again', () => {
  let t: TestPlatform;
  let mqttUrl: string;
  let stateDir: string;

  before(async () => {
    t = await startTestPlatform({ seedDemo: true, overrides: { profile: { 'ocr.worker': false } } });
    const car = t.platform.module(serviceRegistry.find('car') as NonNullable<ReturnType<typeof serviceRegistry.find>>) as unknown as { gateway: { port: number } };
    mqttUrl = `mqtt://127.0.0.1:${car.gateway.port}`;
    stateDir = mkdtempSync(join(tmpdir(), 'carshare-provisioning-'));
  });

  after(async () => {
    await t?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  /** What a fresh `carshare simulate` does first: its own store and registrar on the state folder. */
  const provision = (count: number) =>
    provisionFleet({ count, store: new FleetStore(stateDir), registrar: new GatewayCarRegistrar({ apiUrl: t.platform.gatewayUrl, credentials: demoAccounts.operator }), city, seed: 1 });

  /** Every device connects with its credential (the car service refuses a wrong one), then hangs up. */
  async function connectAll(cars: readonly FleetCar[]): Promise<void> {
    const simulator = new FleetSimulator({ city, cars, connect: mqttDeviceConnector({ url: mqttUrl }), time: { clock: systemClock, scheduler: systemScheduler }, settings: briskDevices });
    await simulator.start();
    assert.ok(simulator.devices.every((device) => device.online), 'every device connected');
    await simulator.stop();
  }

  async function platformPlates(): Promise<Map<string, string>> {
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: demoAccounts.operator.email, password: demoAccounts.operator.password } });
    const page = await t.api.call('GET', '/v1/admin/cars', { token: login.body.tokens.accessToken as string, query: { limit: 100, sort: 'plate' } });
    assert.equal(page.status, 200, page.text);
    return new Map((page.body.items as Array<{ plate: string; id: string }>).map((car) => [car.plate, car.id]));
  }

  let firstCars: FleetCar[];

  it('makes the cars on the first run, and a restarted simulator reuses them: no 409, nothing created', async () => {
    const first = await provision(20);
    assert.equal(first.created, 20);
    firstCars = first.cars;
    await connectAll(first.cars);
    const again = await provision(20);
    assert.deepEqual({ created: again.created, adopted: again.adopted }, { created: 0, adopted: 0 });
    assert.deepEqual(again.cars, first.cars, 'same ids and secrets');
    await connectAll(again.cars);
  });

  it('adopts the cars by plate with new secrets when fleet.json was lost, and the old secrets stop working', async () => {
    rmSync(join(stateDir, 'simulator'), { recursive: true });
    const again = await provision(24);
    assert.deepEqual({ created: again.created, adopted: again.adopted }, { created: 4, adopted: 20 });
    assert.deepEqual(
      again.cars.slice(0, 20).map((car) => car.carId),
      firstCars.map((car) => car.carId),
      'the same cars in the same places',
    );
    const plates = await platformPlates();
    assert.equal([...plates.keys()].filter((plate) => plate.startsWith('B-SC ')).length, 24, 'no car made twice');
    for (const [index, car] of again.cars.entries()) assert.equal(plates.get(simulatedPlate(index)), car.carId);
    await connectAll(again.cars);
    const stale = firstCars[0] as FleetCar;
    await assert.rejects(MqttDeviceLink.connect({ url: mqttUrl, connectAttempts: 1 }, stale, () => {}), 'a rotated secret is refused');
  });

  it('resumes a provisioning that stopped part-way (fleet.json behind the car service)', async () => {
    const all = await new FleetStore(stateDir).load();
    // As a crash after the car service made cars 9 to 24 but before the simulator wrote them down.
    writeFileSync(join(stateDir, 'simulator', 'fleet.json'), `${JSON.stringify({ version: 1, cars: all.slice(0, 8) })}\n`, { mode: 0o600 });
    const resumed = await provision(30);
    assert.deepEqual({ created: resumed.created, adopted: resumed.adopted }, { created: 6, adopted: 16 });
    assert.deepEqual(resumed.cars.slice(0, 24).map((car) => car.carId), all.map((car) => car.carId));
    await connectAll(resumed.cars);
  });
});
