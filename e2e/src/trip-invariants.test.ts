import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkTripInvariants, readTripInvariants, type InvariantRule, type OperatorApi, type ProcessorIntentRow } from './support/trip-invariants.ts';

// The invariant check of issue 14 (acceptance 3) must see each kind of damage a crash can leave,
// or the crash test proves nothing. Here it reads a made-up platform through a fake operator API:
// a healthy one, then one broken thing at a time.

interface World {
  trips: Array<{ id: string; carId: string; status: string; paymentId: string | null; paymentStatus?: string | null; totalCents?: number | null }>;
  cars: Array<{ id: string; state: string }>;
  payments: Array<{ id: string; reference: string; status: string; capturedCents: number; refundedCents: number }>;
  ledger: { balanced: boolean; movements: number; totalCents: number; unbalancedMovementIds: string[]; mismatchedPaymentIds: string[] };
}

const id = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;

/** Two trips: one driving (car 1 in use, its deposit held), one finished (car 2 free, captured 1234). */
function healthy(): World {
  return {
    trips: [
      { id: id(1), carId: id(11), status: 'in_progress', paymentId: id(21), paymentStatus: null, totalCents: null },
      { id: id(2), carId: id(12), status: 'finished', paymentId: id(22), paymentStatus: 'captured', totalCents: 1234 },
      { id: id(3), carId: id(13), status: 'failed', paymentId: id(23), paymentStatus: null, totalCents: null },
    ],
    cars: [
      { id: id(11), state: 'in_use' },
      { id: id(12), state: 'available' },
      { id: id(13), state: 'available' },
    ],
    payments: [
      { id: id(21), reference: id(1), status: 'authorized', capturedCents: 0, refundedCents: 0 },
      { id: id(22), reference: id(2), status: 'captured', capturedCents: 1234, refundedCents: 0 },
      { id: id(23), reference: id(3), status: 'voided', capturedCents: 0, refundedCents: 0 },
    ],
    ledger: { balanced: true, movements: 5, totalCents: 0, unbalancedMovementIds: [], mismatchedPaymentIds: [] },
  };
}

/** The operator API over a world, a page of `pageSize` at a time, so pagination is followed too. */
function fakeApi(world: () => World, pageSize = 1): OperatorApi & { calls: string[] } {
  const calls: string[] = [];
  const page = <T>(items: T[], cursor: string | number | undefined) => {
    const start = cursor === undefined ? 0 : Number(cursor);
    const next = start + pageSize < items.length ? String(start + pageSize) : null;
    return { items: items.slice(start, start + pageSize), nextCursor: next };
  };
  return {
    calls,
    async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
      calls.push(path);
      const current = world();
      if (path === '/v1/admin/trips') return page(current.trips.filter((trip) => trip.status === query['status']), query['cursor']) as T;
      if (path === '/v1/admin/cars') return page(current.cars.filter((car) => car.state === query['state']), query['cursor']) as T;
      if (path === '/v1/admin/payments') return page(current.payments, query['cursor']) as T;
      if (path === '/v1/admin/ledger/check') return current.ledger as T;
      throw new Error(`unexpected GET ${path}`);
    },
  };
}

async function rulesBroken(world: World): Promise<InvariantRule[]> {
  const report = await readTripInvariants(fakeApi(() => world));
  return [...new Set(report.violations.map((violation) => violation.rule))];
}

describe('the trip invariant check', () => {
  it('passes a healthy platform and says what it read', async () => {
    const report = await readTripInvariants(fakeApi(healthy));
    assert.deepEqual(report.violations, []);
    assert.ok(report.ok);
    assert.deepEqual(report.counts, { carsHeld: 1, liveTrips: 1, finishedTrips: 1, openHolds: 1, payments: 3, ledgerMovements: 5 });
  });

  it('finds a car in use with no live trip on it (and one stuck unlocking)', async () => {
    const world = healthy();
    world.cars[1] = { id: id(12), state: 'in_use' };
    world.cars[2] = { id: id(13), state: 'unlocking' };
    const report = await readTripInvariants(fakeApi(() => world));
    assert.deepEqual(
      report.violations.map((violation) => [violation.rule, violation.subject]).sort(),
      [
        ['car_in_use_without_trip', id(12)],
        ['car_in_use_without_trip', id(13)],
      ],
    );
  });

  it('finds a deposit still held for a trip that failed', async () => {
    const world = healthy();
    world.payments[2] = { id: id(23), reference: id(3), status: 'authorized', capturedCents: 0, refundedCents: 0 };
    assert.deepEqual(await rulesBroken(world), ['open_hold_without_trip']);
  });

  it('finds a finished trip whose capture is missing, doubled or for another amount', async () => {
    for (const [payment, rules] of [
      // Still held: also an open hold without a live trip.
      [{ status: 'authorized', capturedCents: 0 }, ['open_hold_without_trip', 'finished_trip_not_captured_once']],
      [{ status: 'capture_pending', capturedCents: 0 }, ['finished_trip_not_captured_once']],
      [{ status: 'captured', capturedCents: 2468 }, ['finished_trip_not_captured_once']],
    ] as const) {
      const world = healthy();
      world.payments[1] = { id: id(22), reference: id(2), refundedCents: 0, ...payment };
      assert.deepEqual(await rulesBroken(world), rules, JSON.stringify(payment));
    }
    const twice = healthy();
    twice.payments.push({ id: id(24), reference: id(2), status: 'captured', capturedCents: 1234, refundedCents: 0 });
    assert.deepEqual(await rulesBroken(twice), ['finished_trip_not_captured_once'], 'two payments for one trip');
    const linesDisagree = healthy();
    linesDisagree.ledger.mismatchedPaymentIds = [id(22)];
    assert.ok((await rulesBroken(linesDisagree)).includes('finished_trip_not_captured_once'));
  });

  it('accepts a finished trip refunded after its capture', async () => {
    const world = healthy();
    world.payments[1] = { id: id(22), reference: id(2), status: 'partially_refunded', capturedCents: 1234, refundedCents: 200 };
    assert.deepEqual(await rulesBroken(world), []);
  });

  it('finds a ledger that does not sum to zero', async () => {
    const world = healthy();
    world.ledger = { ...world.ledger, balanced: false, totalCents: 100, unbalancedMovementIds: ['m-1'] };
    assert.deepEqual(await rulesBroken(world), ['ledger_unbalanced']);
  });

  it('keeps only what a second reading shows again, when asked to confirm', async () => {
    // A car in use a moment before its trip is recorded in progress: gone on the second look.
    let firstReading = true;
    const api = fakeApi(() => {
      const world = healthy();
      if (firstReading) world.cars[1] = { id: id(12), state: 'in_use' };
      return world;
    }, 100);
    assert.equal((await checkTripInvariants(api, { confirmAfterMs: 0 })).ok, false, 'read once, it is reported');
    const report = await checkTripInvariants(api, {
      confirmAfterMs: 1,
      sleep: async () => {
        firstReading = false;
      },
    });
    assert.ok(report.ok, JSON.stringify(report.violations));
    // Two passing moments on two different cars confirm nothing.
    let second = false;
    const moving = fakeApi(() => {
      const world = healthy();
      world.cars[second ? 2 : 1] = { id: id(second ? 13 : 12), state: 'in_use' };
      return world;
    }, 100);
    const passing = await checkTripInvariants(moving, {
      confirmAfterMs: 1,
      sleep: async () => {
        second = true;
      },
    });
    assert.ok(passing.ok, JSON.stringify(passing.violations));
    // Damage that stays is reported.
    const broken = healthy();
    broken.cars[1] = { id: id(12), state: 'in_use' };
    const confirmed = await checkTripInvariants(fakeApi(() => broken), { confirmAfterMs: 1, sleep: async () => undefined });
    assert.deepEqual(
      confirmed.violations.map((violation) => violation.subject),
      [id(12)],
    );
  });
});

describe('the trip invariant check at the card processor', () => {
  /** What the processor holds for `healthy()`: trip 1's deposit held, trip 2's captured, trip 3's voided. */
  function processorOfHealthy(): ProcessorIntentRow[] {
    return [
      { id: 'pi_1', kind: 'hold', reference: id(1), amountCents: 5_000, capturedCents: 0, status: 'requires_capture' },
      { id: 'pi_2', kind: 'hold', reference: id(2), amountCents: 5_000, capturedCents: 1234, status: 'succeeded' },
      { id: 'pi_3', kind: 'hold', reference: id(3), amountCents: 5_000, capturedCents: 0, status: 'canceled' },
    ];
  }

  async function processorRulesBroken(intents: ProcessorIntentRow[]): Promise<InvariantRule[]> {
    const report = await readTripInvariants(fakeApi(healthy), { intents: async () => intents });
    return [...new Set(report.violations.map((violation) => violation.rule))];
  }

  it('passes a processor that agrees with our books, and counts its intents', async () => {
    const report = await readTripInvariants(fakeApi(healthy), { intents: async () => processorOfHealthy() });
    assert.deepEqual(report.violations, []);
    assert.equal(report.counts.processorIntents, 3);
  });

  it('finds a hold the processor still has open for a failed trip, though our books say voided', async () => {
    const intents = processorOfHealthy();
    intents[2] = { ...(intents[2] as ProcessorIntentRow), status: 'requires_capture' };
    assert.deepEqual(await processorRulesBroken(intents), ['open_hold_without_trip']);
    assert.deepEqual(await processorRulesBroken([...processorOfHealthy(), { id: 'pi_9', kind: 'hold', reference: 'trip-nobody-knows', amountCents: 100, capturedCents: 0, status: 'requires_capture' }]), ['open_hold_without_trip']);
  });

  it('finds a finished trip the processor captured twice, never, or for another amount than our books', async () => {
    const twice = [...processorOfHealthy(), { id: 'pi_4', kind: 'hold', reference: id(2), amountCents: 5_000, capturedCents: 1234, status: 'succeeded' } as const];
    assert.deepEqual(await processorRulesBroken(twice), ['finished_trip_not_captured_once']);
    // Two captures that add up to the price: the sums agree, the count does not.
    const split = processorOfHealthy();
    split[1] = { ...(split[1] as ProcessorIntentRow), capturedCents: 617 };
    split.push({ id: 'pi_8', kind: 'hold', reference: id(2), amountCents: 5_000, capturedCents: 617, status: 'succeeded' });
    assert.deepEqual(await processorRulesBroken(split), ['finished_trip_not_captured_once']);
    const twoExtras = [...processorOfHealthy(), ...[5, 6].map((n) => ({ id: `pi_${n}`, kind: 'charge', reference: id(2), amountCents: 10, capturedCents: 10, status: 'succeeded' }) as const)];
    assert.deepEqual(await processorRulesBroken(twoExtras), ['finished_trip_not_captured_once']);
    const never = processorOfHealthy().filter((intent) => intent.id !== 'pi_2');
    assert.deepEqual(await processorRulesBroken(never), ['finished_trip_not_captured_once']);
    const other = processorOfHealthy();
    other[1] = { ...(other[1] as ProcessorIntentRow), capturedCents: 1000 };
    assert.deepEqual(await processorRulesBroken(other), ['finished_trip_not_captured_once']);
  });

  it('accepts a capture above the hold as the hold plus one extra charge', async () => {
    const world = healthy();
    world.trips[1] = { ...(world.trips[1] as World['trips'][number]), totalCents: 5_700 };
    world.payments[1] = { ...(world.payments[1] as World['payments'][number]), capturedCents: 5_700 };
    const intents = processorOfHealthy();
    intents[1] = { ...(intents[1] as ProcessorIntentRow), capturedCents: 5_000 };
    intents.push({ id: 'pi_7', kind: 'charge', reference: id(2), amountCents: 700, capturedCents: 700, status: 'succeeded' });
    const report = await readTripInvariants(fakeApi(() => world), { intents: async () => intents });
    assert.deepEqual(report.violations, []);
  });
});
