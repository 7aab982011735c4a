import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { previewPrice, priceTrip, startedMinutes, vatIncluded, type Tariff } from './pricing.ts';

const minute = 60_000;
const hour = 60 * minute;

const compact: Tariff = {
  version: '2026-12-01',
  category: 'compact',
  currency: 'EUR',
  unlockFeeCents: 100,
  drivingPerMinuteCents: 29,
  parkingPerMinuteCents: 9,
  perKmCents: 19,
  packages: [
    { name: 'hour', durationMinutes: 60, priceCents: 1_490, includedKm: 20, extraPerKmCents: 25 },
    { name: 'day', durationMinutes: 24 * 60, priceCents: 5_900, includedKm: 200, extraPerKmCents: 25 },
  ],
  vatRate: 0.19,
};

describe('pricing', () => {
  it('counts every started minute, and none for an empty segment', () => {
    assert.equal(startedMinutes(0), 0);
    assert.equal(startedMinutes(1), 1);
    assert.equal(startedMinutes(60_000), 1);
    assert.equal(startedMinutes(60_001), 2);
  });

  it('prices a short trip as unlock + started minutes + km', () => {
    const price = priceTrip(compact, { drivingMs: 12 * minute + 5_000, parkingMs: 0, distanceM: 4_250, fees: [] });
    // 100 + 13 × 29 + round(4.25 × 19)
    assert.equal(price.totalCents, 100 + 377 + 81);
    assert.equal(price.packageApplied, undefined);
    assert.deepEqual(
      price.meteredLines.map((line) => [line.code, line.quantity, line.cents]),
      [['unlock', 1, 100], ['driving', 13, 377], ['parking', 0, 0], ['distance', 4_250, 81]],
    );
  });

  it('charges only the unlock fee for a zero-distance, zero-minute trip', () => {
    const price = priceTrip(compact, { drivingMs: 0, parkingMs: 0, distanceM: 0, fees: [] });
    assert.equal(price.totalCents, 100);
  });

  it('bills parking minutes at the parking rate', () => {
    const price = priceTrip(compact, { drivingMs: 10 * minute, parkingMs: 30 * minute + 1, distanceM: 0, fees: [] });
    assert.equal(price.meteredLines.find((line) => line.code === 'parking')?.cents, 31 * 9);
    assert.equal(price.totalCents, 100 + 290 + 279);
  });

  it('caps a 5-hour trip at the day package when that is cheaper than per minute', () => {
    const price = priceTrip(compact, { drivingMs: 5 * hour, parkingMs: 0, distanceM: 60_000, fees: [] });
    // Per minute: 100 + 300 × 29 + 60 × 19 = 9,940; 5 hour packages = 7,450; the day = 5,900.
    assert.equal(price.meteredCents, 9_940);
    assert.deepEqual(price.packageApplied, { name: 'day', count: 1, cents: 5_900, savedCents: 4_040 });
    assert.equal(price.totalCents, 5_900);
  });

  it('charges kilometres beyond what the package includes', () => {
    const price = priceTrip(compact, { drivingMs: 50 * minute, parkingMs: 0, distanceM: 30_000, fees: [] });
    // Per minute: 100 + 1,450 + 570 = 2,120; hour package: 1,490 + 10 km × 25 = 1,740.
    assert.deepEqual(price.packageApplied?.cents, 1_740);
  });

  it('takes as many packages as a long trip needs', () => {
    const price = priceTrip(compact, { drivingMs: 30 * hour, parkingMs: 0, distanceM: 100_000, fees: [] });
    assert.deepEqual([price.packageApplied?.name, price.packageApplied?.count, price.totalCents], ['day', 2, 11_800]);
  });

  it('keeps per-minute pricing when no package is cheaper', () => {
    assert.equal(priceTrip(compact, { drivingMs: 20 * minute, parkingMs: 0, distanceM: 8_000, fees: [] }).packageApplied, undefined);
  });

  it('adds fees after the cap, each as its own line', () => {
    const price = priceTrip(compact, {
      drivingMs: 5 * hour,
      parkingMs: 0,
      distanceM: 0,
      fees: [
        { code: 'dropoff_zone', description: 'Airport drop-off', cents: 1_500 },
        { code: 'low_energy', description: 'Ended below 10 % battery', cents: 500 },
      ],
    });
    assert.equal(price.totalCents, 5_900 + 2_000);
    assert.deepEqual(price.feeLines.map((line) => line.code), ['dropoff_zone', 'low_energy']);
  });

  it('prices a trip with the tariff it started with, whatever the table says now', () => {
    const raised: Tariff = { ...compact, version: '2027-01-01', drivingPerMinuteCents: 35 };
    const usage = { drivingMs: 10 * minute, parkingMs: 0, distanceM: 0, fees: [] };
    const startedWith = priceTrip(compact, usage);
    assert.equal(startedWith.totalCents, 100 + 290);
    assert.equal(startedWith.tariffVersion, '2026-12-01');
    assert.equal(priceTrip(raised, usage).totalCents, 100 + 350);
  });

  it('shows the VAT contained in the gross total', () => {
    assert.equal(vatIncluded(1_190, 0.19), 190);
    const price = priceTrip(compact, { drivingMs: 10 * minute, parkingMs: 0, distanceM: 0, fees: [] });
    assert.equal(price.vatCents, Math.round((390 * 0.19) / 1.19));
  });

  it('previews a planned trip with the same rules', () => {
    assert.equal(previewPrice(compact, 20, 10).totalCents, 100 + 580 + 190);
  });
});
