import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { generateCity } from '@carshare/city';
import type { CarRegistrar, NewCar } from './car-registrar.ts';
import { provisionFleet, simulatedCar } from './fleet-provisioner.ts';
import { FleetStore } from './fleet-store.ts';

const city = generateCity({ sizeKm: 2 });

class CountingRegistrar implements CarRegistrar {
  readonly registered: NewCar[] = [];
  failAfter = Infinity;

  async register(car: NewCar): Promise<{ carId: string; secret: string }> {
    if (this.registered.length >= this.failAfter) throw new Error('car service unavailable');
    this.registered.push(car);
    return { carId: randomUUID(), secret: `secret-${this.registered.length}` };
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
});
