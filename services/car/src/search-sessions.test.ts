import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { searchSessionIntervalMs } from '@carshare/contracts';
import type { CallContext, Caller } from '@carshare/platform';
import { sql } from 'kysely';
import { carRpcHandlers } from './api/rpc-handlers.ts';
import { openCarTestModule, operator, rider, type CarTestModule } from './testing/car-test-module.ts';

const otherRider: Caller = { ...rider, userId: '01890a5d-ac96-774b-bcce-b302099a8003' };
const berlin = { lat: 52.52, lng: 13.405, radiusM: 2_000, limit: 5 };

describe('search sessions (car.searched, ADR 0026)', () => {
  let t: CarTestModule;
  let nearby: (input: typeof berlin & { category?: 'compact' | 'van' }, caller: Caller) => Promise<{ items: unknown[] }>;

  /** What the transactions wrote to the outbox for one rider, oldest first. */
  async function sessionsOf(caller: Caller): Promise<Array<{ category: string | null; carsFound: number }>> {
    const { rows } = await sql<{ payload: unknown }>`select envelope as payload from outbox where event_type = 'car.searched' and subject = ${caller.userId} order by seq`.execute(
      t.database.database.db,
    );
    return rows.map((row) => {
      const envelope = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as { data: { category: string | null; carsFound: number } };
      return { category: envelope.data.category, carsFound: envelope.data.carsFound };
    });
  }

  before(async () => {
    t = await openCarTestModule();
    await t.module.service.createCar(
      { plate: 'B-SS 1', vin: 'WVWZZZ1JZ3W900001', model: 'VW ID.3', category: 'compact', seats: 5, fuelType: 'electric', position: { lat: 52.52, lng: 13.405 } },
      operator,
    );
    const handlers = carRpcHandlers(t.module.service, t.module.devices, () => ({}));
    nearby = (input, caller) => handlers.Nearby({ ...input }, { caller } as CallContext) as Promise<{ items: unknown[] }>;
  });
  after(() => t.close());

  it('writes one car.searched per rider per session, however often the rider searches', async () => {
    assert.equal((await nearby(berlin, rider)).items.length, 1);
    for (let index = 0; index < 5; index += 1) {
      t.clock.advance(60_000);
      await nearby({ ...berlin, category: 'van' }, rider);
    }
    assert.deepEqual(await sessionsOf(rider), [{ category: null, carsFound: 1 }]);
    t.clock.advance(searchSessionIntervalMs - 5 * 60_000);
    await nearby({ ...berlin, category: 'van' }, rider);
    assert.deepEqual(await sessionsOf(rider), [
      { category: null, carsFound: 1 },
      { category: 'van', carsFound: 0 },
    ]);
  });

  it('keeps each rider their own session, and records no session for an operator', async () => {
    await nearby(berlin, otherRider);
    await nearby(berlin, operator);
    assert.equal((await sessionsOf(otherRider)).length, 1);
    assert.equal((await sessionsOf(operator)).length, 0);
  });
});
