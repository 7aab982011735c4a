import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { generateCity } from '@carshare/city';
import type { CarRegistrar, NewCar } from './car-registrar.ts';
import { PlateTaken } from './car-registrar.ts';
import { provisionFleet, simulatedCar, simulatedPlate } from './fleet-provisioner.ts';
import type { FleetCar } from './fleet-simulator.ts';
import { FleetStore } from './fleet-store.ts';

const city = generateCity({ sizeKm: 2 });

/** A car service in memory: plates are unique, a secret is shown once, rotation issues a new one. */
class CountingRegistrar implements CarRegistrar {
  readonly registered: NewCar[] = [];
  /** Plate → the car and its current secret. */
  readonly fleet = new Map<string, { carId: string; secret: string }>();
  failAfter = Infinity;
  /** Plates whose creation succeeds but whose answer is lost (a timeout after the car was made). */
  readonly lostAnswers = new Set<string>();
  adopted = 0;

  async register(car: NewCar): Promise<{ carId: string; secret: string }> {
    if (this.registered.length >= this.failAfter) throw new Error('car service unavailable');
    if (this.fleet.has(car.plate)) throw new PlateTaken(car.plate);
    this.registered.push(car);
    const issued = { carId: randomUUID(), secret: `secret-${this.registered.length}` };
    this.fleet.set(car.plate, issued);
    if (this.lostAnswers.delete(car.plate)) throw new Error('the operation was aborted due to timeout');
    return issued;
  }

  async adopt(plate: string): Promise<{ carId: string; secret: string } | undefined> {
    const car = this.fleet.get(plate);
    if (!car) return undefined;
    this.adopted += 1;
    car.secret = `rotated-${this.adopted}`;
    return { ...car };
  }
}

/** fleet.json must hold the car of plate i at place i, with the secret the car service knows now. */
function assertMatchesCarService(cars: readonly FleetCar[], registrar: CountingRegistrar): void {
  for (const [index, car] of cars.entries()) {
    assert.equal(car.plate, simulatedPlate(index), `place ${index} holds plate ${simulatedPlate(index)}`);
    assert.deepEqual({ carId: car.carId, secret: car.secret }, registrar.fleet.get(simulatedPlate(index)), `car ${simulatedPlate(index)} has a working secret`);
  }
}

describe('provisionFleet', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'carshare-fleet-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates the cars through the registrar when the fleet is empty, and reuses them on the next start', async () => {
    const store = new FleetStore(dataDir);
    const registrar = new CountingRegistrar();
    const first = await provisionFleet({ count: 40, store, registrar, city, seed: 1 });
    assert.equal(first.created, 40);
    assert.equal(registrar.registered.length, 40);
    assert.equal(new Set(registrar.registered.map((car) => car.plate)).size, 40, 'plates are unique');
    assert.ok(registrar.registered.every((car) => car.position && /^[A-HJ-NPR-Z0-9]{17}$/.test(car.vin)));
    const again = await provisionFleet({ count: 40, store, registrar, city, seed: 1 });
    assert.equal(again.created, 0);
    assert.equal(registrar.registered.length, 40, 'no car created twice');
    assert.deepEqual(again.cars, first.cars, 'same ids and secrets');
    assert.equal((await stat(store.path)).mode & 0o777, 0o600, 'secrets readable by the owner only');
  });

  it('adds only the missing cars when asked for more', async () => {
    const store = new FleetStore(dataDir);
    const registrar = new CountingRegistrar();
    await provisionFleet({ count: 10, store, registrar, city, seed: 1 });
    const grown = await provisionFleet({ count: 25, store, registrar, city, seed: 1 });
    assert.equal(grown.created, 15);
    assert.equal(grown.cars.length, 25);
    assert.deepEqual(registrar.registered[10], { ...simulatedCar(10, 1), position: registrar.registered[10]?.position });
  });

  it('keeps the secrets of the cars it created before the car service failed', async () => {
    const store = new FleetStore(dataDir);
    const registrar = new CountingRegistrar();
    registrar.failAfter = 20;
    await assert.rejects(provisionFleet({ count: 40, store, registrar, city, seed: 1 }), /unavailable/);
    assert.equal((await store.load()).length, 20, 'every issued secret is on disk');
    registrar.failAfter = Infinity;
    const resumed = await provisionFleet({ count: 40, store, registrar, city, seed: 1 });
    assert.equal(resumed.created, 20);
    assert.equal(registrar.registered.length, 40);
  });

  it('keeps place i for plate i when a creation in the middle of a batch fails, and the rerun adopts the cars made after it', async () => {
    const store = new FleetStore(dataDir);
    const registrar = new CountingRegistrar();
    // The 6th car is made but its answer lost; the 7th to 16th of the batch are made and answered.
    registrar.lostAnswers.add(simulatedPlate(5));
    await assert.rejects(provisionFleet({ count: 40, store, registrar, city, seed: 1 }), /timeout/);
    assert.equal((await store.load()).length, 5, 'only the run before the failure is kept');
    const resumed = await provisionFleet({ count: 40, store, registrar, city, seed: 1 });
    assert.equal(resumed.cars.length, 40);
    assert.equal(resumed.adopted, 11, 'the lost one and the ten after it in its batch');
    assert.equal(resumed.created, 24);
    assert.equal(registrar.fleet.size, 40, 'no car made twice');
    assertMatchesCarService(resumed.cars, registrar);
  });

  it('adopts every car by plate with a new secret when fleet.json was lost', async () => {
    const registrar = new CountingRegistrar();
    const first = await provisionFleet({ count: 20, store: new FleetStore(dataDir), registrar, city, seed: 1 });
    await rm(join(dataDir, 'simulator'), { recursive: true });
    const again = await provisionFleet({ count: 25, store: new FleetStore(dataDir), registrar, city, seed: 1 });
    assert.deepEqual({ created: again.created, adopted: again.adopted }, { created: 5, adopted: 20 });
    assert.deepEqual(
      again.cars.slice(0, 20).map((car) => car.carId),
      first.cars.map((car) => car.carId),
      'the same cars, in the same places',
    );
    assertMatchesCarService(again.cars, registrar);
    assert.deepEqual(await new FleetStore(dataDir).load(), again.cars, 'the adopted secrets are on disk');
  });
});

describe('FleetStore', () => {
  it('survives two saves at once (the periodic save overlapping the one at shutdown)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'carshare-fleet-'));
    try {
      const store = new FleetStore(dataDir);
      const cars = Array.from({ length: 200 }, (_, index) => ({ carId: randomUUID(), secret: `s-${index}` }));
      await Promise.all([store.save(cars), store.save(cars.slice(0, 100)), store.save(cars)]);
      assert.ok([100, 200].includes((await store.load()).length));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
