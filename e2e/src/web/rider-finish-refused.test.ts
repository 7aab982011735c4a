import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { berlinCentre } from '@carshare/city';
import { serviceRegistry } from '@carshare/cli';
import { licenceCardSample, renderLicenceCard } from '@carshare/profile-service/testing';
import { userDescriptor } from '@carshare/user-service';
import { describeViolations, launchBrowser, screenshot, seriousAccessibilityViolations, type TestBrowser } from '../support/browser.ts';
import { startSimulatedFleet, type SimulatedFleet } from '../support/simulated-fleet.ts';
import { startTestPlatform, type TestPlatform } from '../support/test-platform.ts';

// Issue 15: ending a trip where it may not end. The only zone here is a depot 20 km east of the
// simulated city, so wherever the car drives the API answers 409 OUTSIDE_OPERATING_AREA with the
// nearest allowed zone; the rider app says so in words, names the depot, how far it is and in which
// direction (from the zones' shapes), and the trip goes on.

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

function square(centre: { lat: number; lng: number }, halfM: number): number[][] {
  const dLat = halfM / 111_320;
  const dLng = halfM / (111_320 * Math.cos((centre.lat * Math.PI) / 180));
  const [south, north, west, east] = [centre.lat - dLat, centre.lat + dLat, centre.lng - dLng, centre.lng + dLng];
  return [[west, south], [east, south], [east, north], [west, north], [west, south]];
}

const depot = { lat: berlinCentre.lat, lng: berlinCentre.lng + 20_000 / (111_320 * Math.cos((berlinCentre.lat * Math.PI) / 180)) };
const depotOnly = [{ type: 'Feature', id: 'depot-east', properties: { name: 'East depot', kind: 'home' }, geometry: { type: 'Polygon', coordinates: [square(depot, 500)] } }];

describe('the rider app, ending a trip outside every zone', () => {
  let t: TestPlatform;
  let browser: TestBrowser;
  let fleet: SimulatedFleet;
  let scratch: string;
  const operator = { email: `operator-${randomUUID()}@example.com`, password: 'operator-password-1' };
  const rider = { email: `outside-${randomUUID()}@example.com`, password: 'granite-Willow-5-harbor' };

  before(async () => {
    await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts', 'build-web.mjs'), 'rider-web'], { cwd: repoRoot, timeout: 180_000 });
    t = await startTestPlatform({
      overrides: {
        // No OCR: the operator decides by API here (the console's approval has its own tests).
        profile: { 'ocr.worker': false },
        trip: { zones: depotOnly },
        gateway: { 'http.defaultDeadlineMs': 30_000 },
      },
    });
    const users = t.platform.module(userDescriptor).users;
    await users.createAccount({ ...operator, displayName: 'Operator', role: 'operator', plan: 'unlimited' });
    // Made by the platform's own account service: its address counts as confirmed.
    const riderAccount = await users.createAccount({ ...rider, displayName: 'Outside Rider', role: 'rider', plan: 'free' });
    const tokenOf = async (who: { email: string; password: string }) => {
      const login = await t.api.call('POST', '/v1/auth/login', { body: who });
      assert.equal(login.status, 200, login.text);
      return (login.body as { tokens: { accessToken: string } }).tokens.accessToken;
    };
    const [operatorToken, riderToken] = [await tokenOf(operator), await tokenOf(rider)];

    // The licence, sent and approved through the API as the app and the console would.
    const { fields, style } = licenceCardSample(2);
    assert.equal((await t.api.call('PUT', '/v1/profile', { token: riderToken, body: { fields } })).status, 200);
    const png = renderLicenceCard(fields, style);
    for (const purpose of ['licence_front', 'licence_back', 'selfie'] as const) {
      const created = await t.api.call('POST', '/v1/profile/photos', { token: riderToken, body: { purpose, contentType: 'image/png', sizeBytes: png.length } });
      assert.equal(created.status, 201, created.text);
      const { upload } = created.body as { upload: { url: string; method: string; headers: Record<string, string> } };
      const put = await fetch(new URL(upload.url, t.api.baseUrl), { method: upload.method, headers: upload.headers, body: png, signal: AbortSignal.timeout(15_000) });
      assert.ok(put.ok, `upload answered ${put.status}`);
    }
    const submitted = await t.api.call('POST', '/v1/profile/submit', { token: riderToken, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(submitted.status, 200, submitted.text);
    const approved = await t.api.call('POST', `/v1/admin/reviews/${riderAccount.id}/approve`, { token: operatorToken, body: { note: 'e2e' }, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(approved.status, 200, approved.text);
    const card = await t.api.call('POST', '/v1/payment-methods', { token: riderToken, body: { cardToken: 'tok_visa' }, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(card.status, 201, card.text);

    scratch = mkdtempSync(join(tmpdir(), 'carshare-outside-'));
    const carModule = t.platform.module(serviceRegistry.find('car') as NonNullable<ReturnType<typeof serviceRegistry.find>>) as unknown as { gateway: { port: number } };
    fleet = await startSimulatedFleet({ apiUrl: t.platform.gatewayUrl, mqttUrl: `mqtt://127.0.0.1:${carModule.gateway.port}`, operator, count: 1, dataDir: scratch });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await fleet?.stop();
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('says the trip cannot end here, and where the nearest allowed zone is: name, distance, direction', async () => {
    const { page, context, problems } = await browser.open({ viewport: 'mobile', baseUrl: t.platform.gatewayUrl });
    const car = fleet.cars[0];
    assert.ok(car);
    await page.goto(`/cars/${car.carId}`);
    await page.getByLabel('Email').fill(rider.email);
    await page.getByLabel('Password').fill(rider.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Unlock and start trip' }).click();
    await page.getByTestId('trip-status').getByText('driving', { exact: true }).or(page.getByRole('alert')).first().waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole('alert').count(), 0, await page.getByRole('alert').allInnerTexts().then((texts) => texts.join('\n')));

    await page.getByRole('button', { name: 'End trip' }).click();
    const problem = page.getByTestId('finish-problem');
    await problem.getByRole('alert').getByText('You are outside the operating area. Drive into a zone to end the trip.').waitFor({ timeout: 30_000 });
    // The direction comes once the zones' shapes have loaded ("… km away" until then).
    const sentence = /^The nearest place to end this trip is East depot, (\d+(?:\.\d)?) km to the east\.$/;
    const nearestZone = problem.getByTestId('nearest-zone');
    await nearestZone.filter({ hasText: sentence }).waitFor({ timeout: 15_000 }).catch(() => undefined);
    const nearest = await nearestZone.innerText();
    // The city is ~6 km across and the depot's edge 19.5 km east of its centre.
    const [, km] = sentence.exec(nearest) ?? [];
    assert.ok(km && Number(km) > 12 && Number(km) < 24, nearest);
    // The trip goes on: still driving, the controls still there.
    await page.getByTestId('trip-status').getByText('driving', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'End trip' }).and(page.locator(':enabled')).waitFor();

    await screenshot(page, 'journey-finish-refused-mobile');
    const violations = await seriousAccessibilityViolations(page);
    assert.deepEqual(violations, [], describeViolations(violations));
    const unexpected = problems.errors.filter((error) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(error));
    assert.deepEqual(unexpected, []);
    await context.close();
  });
});
