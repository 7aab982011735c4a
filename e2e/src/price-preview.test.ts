import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoAccounts } from '@carshare/user-service';
import { assertError } from './support/error-shape.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

// The price preview on the embedded platform: gateway → car service (the category) → trip
// service (the live tariff table), every hop real.

interface Line {
  code: string;
  quantity: number;
  unitCents: number;
  cents: number;
}
interface Preview {
  category: string;
  minutes: number;
  km: number;
  currency: string;
  tariffVersion: string;
  meteredLines: Line[];
  meteredCents: number;
  packageApplied: { name: string; count: number; cents: number; savedCents: number } | null;
  totalCents: number;
  vatCents: number;
}

describe('GET /v1/cars/:id/price-preview on the embedded platform', () => {
  let t: TestPlatform;
  let token: string;
  let car: { id: string; category: string };

  before(async () => {
    t = await startTestPlatform({ seedDemo: true, overrides: { profile: { 'ocr.worker': false } } });
    const login = await t.api.call<{ tokens: { accessToken: string } }>('POST', '/v1/auth/login', { body: { email: demoAccounts.operator.email, password: demoAccounts.operator.password } });
    assert.equal(login.status, 200, login.text);
    token = login.body.tokens.accessToken;
    // A van: its tariff has a per-km price, so the distance line is not zero.
    const created = await t.api.call<{ car: { id: string } }>('POST', '/v1/admin/cars', {
      token,
      body: { plate: 'B-PP 1', vin: 'WVWZZZ1JZ3W000071', model: 'VW ID. Buzz', category: 'van', seats: 7, fuelType: 'electric', position: { lat: 52.52, lng: 13.405 } },
    });
    assert.equal(created.status, 201, created.text);
    car = { id: created.body.car.id, category: 'van' };
  });
  after(() => t?.close());

  it("prices 30 min and 10 km by the car's category: lines that add up, the tariff version, VAT inside the total", async () => {
    const response = await t.api.call<Preview>('GET', `/v1/cars/${car.id}/price-preview`, { token, query: { minutes: 30, km: 10 } });
    assert.equal(response.status, 200, response.text);
    const preview = response.body;
    assert.equal(preview.category, car.category);
    assert.ok(preview.tariffVersion.length > 0);
    const byCode = Object.fromEntries(preview.meteredLines.map((line) => [line.code, line]));
    assert.equal(byCode['driving']?.quantity, 30);
    assert.equal(byCode['driving']?.cents, 30 * byCode['driving']!.unitCents);
    assert.equal(byCode['distance']?.quantity, 10_000);
    assert.equal(byCode['distance']?.cents, 10 * byCode['distance']!.unitCents);
    assert.ok(byCode['distance']!.cents > 0);
    assert.equal(byCode['parking']?.quantity, 0);
    assert.equal(preview.meteredCents, preview.meteredLines.reduce((sum, line) => sum + line.cents, 0));
    assert.equal(preview.totalCents, preview.packageApplied?.cents ?? preview.meteredCents);
    assert.ok(preview.vatCents > 0 && preview.vatCents < preview.totalCents);
  });

  it('a day of driving is capped by a package, and the preview says which and what it saves', async () => {
    const response = await t.api.call<Preview>('GET', `/v1/cars/${car.id}/price-preview`, { token, query: { minutes: 1440, km: 0 } });
    assert.equal(response.status, 200, response.text);
    const { packageApplied, meteredCents, totalCents } = response.body;
    assert.ok(packageApplied, response.text);
    assert.equal(totalCents, packageApplied.cents);
    assert.equal(packageApplied.savedCents, meteredCents - totalCents);
  });

  it('an unknown car is 404 CAR_NOT_FOUND; minutes or km out of bounds are 400 VALIDATION_FAILED', async () => {
    assertError(await t.api.call('GET', '/v1/cars/0190f000-0000-7000-8000-0000000000c9/price-preview', { token, query: { minutes: 30, km: 10 } }), 404, 'CAR_NOT_FOUND');
    assertError(await t.api.call('GET', `/v1/cars/${car.id}/price-preview`, { token, query: { minutes: 0, km: 10 } }), 400, 'VALIDATION_FAILED');
    assertError(await t.api.call('GET', `/v1/cars/${car.id}/price-preview`, { token, query: { minutes: 30, km: 1001 } }), 400, 'VALIDATION_FAILED');
  });
});
