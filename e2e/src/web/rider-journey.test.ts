import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { serviceRegistry } from '@carshare/cli';

import { userDescriptor } from '@carshare/user-service';
import type { BrowserContext, Page } from 'playwright-core';
import { describeViolations, focusedId, launchBrowser, screenshot, seriousAccessibilityViolations, viewports, type PageProblems, type TestBrowser } from '../support/browser.ts';
import { startSimulatedFleet, type SimulatedFleet } from '../support/simulated-fleet.ts';
import { startTestPlatform, type TestPlatform } from '../support/test-platform.ts';
import { ensureConsoleBuilt, signInByKeyboard } from './admin-harness.ts';
import { fillInLicence } from './rider-steps.ts';

// Issue 15, acceptance 1: the whole rider journey in Chromium against a real embedded platform
// whose cars are simulated devices on its MQTT broker (they ack lock and unlock, report telemetry
// and drive off once unlocked). A rider signs up, confirms the mail, uploads licence photos; an
// operator approves the licence in the console, in a second browser context; the rider reserves,
// unlocks, watches the fee grow, parks, drives on, ends the trip inside the home zone and opens the
// receipt and its PDF; then an operator sends another car to maintenance and the rider's map drops
// it (the live feed). The trip's buttons are pressed by keyboard. Each main screen is saved as a
// screenshot at mobile and desktop size and checked with axe-core.

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

/**
 * The default tariffs bill the small and compact cars by the minute only (a km costs 0), so their
 * fee moves once a minute. This table (the defaults' shape) charges every km on every category, so
 * the fee grows with the car's telemetry while it drives, within seconds: the test waits for that,
 * never for a minute to pass.
 */
const journeyTariffs = {
  version: 'e2e-journey',
  byCategory: Object.fromEntries(
    ['small', 'compact', 'premium', 'van'].map((category) => [
      category,
      {
        currency: 'EUR',
        unlockFeeCents: 99,
        drivingPerMinuteCents: 29,
        parkingPerMinuteCents: 9,
        perKmCents: 39,
        packages: [{ name: 'hour', durationMinutes: 60, priceCents: 1_299, includedKm: 50, extraPerKmCents: 29 }],
        vatRate: 0.19,
      },
    ]),
  ),
};

describe('the rider journey, from sign-up to the receipt, in a real browser', () => {
  let t: TestPlatform;
  let browser: TestBrowser;
  let fleet: SimulatedFleet;
  let scratch: string;
  const operator = { email: `operator-${randomUUID()}@example.com`, password: 'operator-password-1' };
  let operatorToken: string;
  let rider: { page: Page; context: BrowserContext; problems: PageProblems };
  let console_: { page: Page; context: BrowserContext; problems: PageProblems };
  const person = { name: 'Grace Journey', email: `journey-${randomUUID()}@example.com`, password: 'copper-Meadow-4-violin' };
  let tripId: string;

  before(async () => {
    // The dist folders are build output (never committed): built when stale, as `npm start` does.
    await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts', 'build-web.mjs'), 'rider-web'], { cwd: repoRoot, timeout: 180_000 });
    ensureConsoleBuilt();
    t = await startTestPlatform({
      overrides: {
        // The simulated OCR reads the rendered card as noise: every field needs the operator.
        profile: { 'ocr.provider': 'simulated', 'ocr.pollIntervalMs': 50, 'ocr.simulated.latencyMs': 0 },
        trip: { tariffs: journeyTariffs },
        // Production's 10 s deadline is for production: on a 2-core box shared with other runs a slow answer is load, not the behaviour under test.
        gateway: { 'http.defaultDeadlineMs': 30_000 },
      },
    });
    await t.platform.module(userDescriptor).users.createAccount({ ...operator, displayName: 'Journey Operator', role: 'operator', plan: 'unlimited' });
    const login = await t.api.call('POST', '/v1/auth/login', { body: operator });
    assert.equal(login.status, 200, login.text);
    operatorToken = (login.body as { tokens: { accessToken: string } }).tokens.accessToken;
    scratch = mkdtempSync(join(tmpdir(), 'carshare-journey-'));
    const carModule = t.platform.module(serviceRegistry.find('car') as NonNullable<ReturnType<typeof serviceRegistry.find>>) as unknown as { gateway: { port: number } };
    fleet = await startSimulatedFleet({ apiUrl: t.platform.gatewayUrl, mqttUrl: `mqtt://127.0.0.1:${carModule.gateway.port}`, operator, count: 4, dataDir: scratch });
    browser = await launchBrowser();
    rider = await browser.open({ viewport: 'mobile', baseUrl: t.platform.gatewayUrl });
    console_ = await browser.open({ viewport: 'desktop', baseUrl: t.platform.gatewayUrl });
  });

  after(async () => {
    await rider?.context.close();
    await console_?.context.close();
    await browser?.close();
    await fleet?.stop();
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Waits for `expected`; an error notice showing first fails the test with its text instead of a timeout. */
  async function settled(page: Page, expected: ReturnType<Page['locator']>, timeout = 10_000): Promise<void> {
    const alert = page.getByRole('alert');
    await expected.or(alert).first().waitFor({ timeout });
    if ((await alert.count()) && !(await expected.count())) assert.fail(`the app showed an error: ${await alert.first().innerText()}`);
  }

  /**
   * A main screen as a test artefact at the phone's size and a desktop's (the same page, resized),
   * with no serious or critical axe-core violation at either.
   */
  async function capture(page: Page, name: string): Promise<void> {
    for (const size of ['mobile', 'desktop'] as const) {
      await page.setViewportSize(viewports[size].viewport);
      await screenshot(page, `journey-${name}-${size}`);
      const violations = await seriousAccessibilityViolations(page);
      assert.deepEqual(violations, [], `${name} (${size}):\n${describeViolations(violations)}`);
    }
    await page.setViewportSize(viewports.mobile.viewport);
  }

  /** Tabs until the control named `name` has focus, then presses Enter: the keyboard alone. */
  async function pressByKeyboard(page: Page, name: string): Promise<void> {
    const control = page.getByRole('button', { name, exact: true }).or(page.getByRole('link', { name, exact: true }));
    await control.first().waitFor();
    for (let presses = 0; presses < 40; presses += 1) {
      await page.keyboard.press('Tab');
      if ((await page.locator(':focus').innerText().catch(() => '')).trim() === name) {
        await page.keyboard.press('Enter');
        return;
      }
    }
    assert.fail(`Tab never reached "${name}"`);
  }

  /** The console's page, its operator signed in by keyboard (once; the tests run in order, and each can run alone). */
  async function consolePage(): Promise<Page> {
    const { page } = console_;
    if (!(await page.getByRole('navigation', { name: 'Console sections' }).count())) await signInByKeyboard(page, operator.email, operator.password);
    return page;
  }

  function expectNoProblems(problems: PageProblems, screen: string): void {
    // Chromium logs every 4xx answer as a console error; those are refusals the app explained.
    const unexpected = problems.errors.filter((error) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(error));
    assert.deepEqual(unexpected, [], `${screen}: the page reported errors (a CSP refusal shows here too)`);
  }

  it('signs the rider up, confirms the mail, logs in by keyboard and shows the cars with the zones', async () => {
    const { page } = rider;
    await page.goto('/register');
    await page.getByLabel('Your name').fill(person.name);
    await page.getByLabel('Email').fill(person.email);
    await page.getByLabel('Password').fill(person.password);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await settled(page, page.getByRole('heading', { name: 'Check your mail' }));
    const [mail] = await t.platform.module(userDescriptor).mailOutbox.list({ limit: 1, recipient: person.email });
    const token = /verify-email\?token=([\w-]+)/.exec(mail?.text ?? '')?.[1];
    assert.ok(token, `a verification link in the mail: ${mail?.text}`);
    await page.goto(`/verify-email?token=${token}`);
    await page.getByText('Your address is confirmed').waitFor();

    await page.goto('/login');
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    for (let presses = 0; presses < 12 && (await focusedId(page)) !== 'login-email'; presses += 1) await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'login-email', 'the email field is reachable by Tab');
    await page.keyboard.type(person.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(person.password);
    await page.keyboard.press('Enter');
    await settled(page, page.getByRole('heading', { name: 'Cars nearby' }));

    const list = page.getByRole('list', { name: 'Available cars' });
    for (const car of fleet.cars) await list.getByText(car.plate ?? '', { exact: false }).first().waitFor({ timeout: 20_000 });
    const map = page.getByTestId('car-map');
    await map.and(page.locator('[data-ready="true"]')).waitFor({ timeout: 30_000 });
    // The platform's zones (home: the city; drop-off: the airport) on the map and in words.
    await map.and(page.locator('[data-zone-count="2"]')).waitFor();
    await page.getByTestId('zone-legend').getByText('City: end your trip here at no extra cost').waitFor();
    await page.getByTestId('zone-legend').getByText(/Airport: end your trip here for a fee of €9\.90/).waitFor();
    await capture(page, 'map');
  });

  it('uploads the licence photos, and an operator approves them in the console (a second browser context)', async () => {
    const { page } = rider;
    const fields = await fillInLicence(page, 1, 20_000);
    await page.getByRole('button', { name: 'Save details' }).click();
    await settled(page, page.getByText('Details saved.'));
    await page.getByRole('button', { name: 'Send for verification' }).click();
    await settled(page, page.getByTestId('licence-status').and(page.getByText(/being checked/)), 30_000);

    // The operator, on another device: the console's review queue, the rider's case, A, a note, Enter.
    const operatorPage = await consolePage();
    await operatorPage.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Licence reviews' }).click();
    const entry = operatorPage.locator('.queue-list button', { hasText: `${fields.surname}, ${fields.givenNames}` });
    // The case opens once the simulated OCR has read it (its problems are what the operator checks).
    await entry.filter({ hasText: /problem/ }).waitFor({ timeout: 30_000 });
    await entry.click();
    await operatorPage.getByRole('heading', { name: new RegExp(`${fields.givenNames} ${fields.surname}`), level: 2 }).waitFor();
    await operatorPage.keyboard.press('a');
    await operatorPage.keyboard.type('photo and fields checked by hand');
    await operatorPage.keyboard.press('Enter');
    await operatorPage.getByRole('status').filter({ hasText: `${fields.givenNames} ${fields.surname}: Verified.` }).waitFor();
    await screenshot(operatorPage, 'journey-console-approved-desktop');

    await page.reload();
    await page.getByTestId('licence-status').and(page.getByText(/verified/)).waitFor();
  });

  it('reserves a car, unlocks it, and watches the fee grow while the car drives', async () => {
    const { page } = rider;
    // The rider's card, saved with the simulated processor's test token: the app has no card form
    // (a processor's own widget would make the token), and a trip needs a card for its deposit.
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: person.email, password: person.password } });
    const riderToken = (login.body as { tokens: { accessToken: string } }).tokens.accessToken;
    const card = await t.api.call('POST', '/v1/payment-methods', { token: riderToken, body: { cardToken: 'tok_visa' }, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(card.status, 201, card.text);

    const car = fleet.cars[0];
    assert.ok(car?.plate);
    await page.getByRole('navigation').getByRole('link', { name: 'Cars' }).click();
    await page.getByRole('list', { name: 'Available cars' }).getByRole('link').filter({ hasText: car.plate }).click();
    await page.getByRole('heading', { level: 1 }).and(page.locator('#car-title')).waitFor();
    await pressByKeyboard(page, 'Reserve for free');
    await settled(page, page.getByRole('timer').getByText(/Reserved for you: \d+:\d\d left/));
    const left = async () => {
      const [, minutes, seconds] = /(\d+):(\d\d) left/.exec(await page.getByRole('timer').innerText()) ?? [];
      return Number(minutes) * 60 + Number(seconds);
    };
    const before = await left();
    // Once, for a fee (a line on the receipt later): the countdown moves on by the extension.
    await pressByKeyboard(page, 'Hold it longer (for a fee)');
    await settled(page, page.getByTestId('reservation-extension').getByText(/^Held \d+ min longer, for €\d+\.\d\d\.$/));
    assert.ok((await left()) > before + 60, 'the hold lasts longer');
    assert.equal(await page.getByRole('button', { name: 'Hold it longer (for a fee)' }).count(), 0, 'one extension per hold');
    await capture(page, 'car-reserved');

    await pressByKeyboard(page, 'Unlock and start trip');
    // The start saga: licence, claim, deposit, then the device's unlock ack.
    await settled(page, page.getByTestId('trip-status').getByText('driving', { exact: true }), 30_000);
    tripId = /\/trips\/([^/]+)$/.exec(new URL(page.url()).pathname)?.[1] ?? '';
    assert.ok(tripId, page.url());

    const fee = page.getByTestId('trip-fee').locator('.fee');
    await fee.waitFor();
    const first = (await fee.innerText()).trim();
    assert.match(first, /^€\d+\.\d\d$/);
    // The fee so far already holds the extension bought for the hold, named, as the receipt will.
    await page.getByTestId('trip-fee').getByText(/incl\. €\d+\.\d\d for the longer hold/).waitFor();
    await capture(page, 'trip-driving');
    // The simulated rider drives off; every report adds distance, and the fee follows (polled by the app).
    const escaped = first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await page.getByTestId('trip-fee').locator('.fee', { hasNotText: new RegExp(`^${escaped}$`) }).waitFor({ timeout: 60_000 });
    const grown = (await fee.innerText()).trim();
    assert.ok(Number(grown.slice(1)) > Number(first.slice(1)), `the fee grew: ${first} → ${grown}`);
    assert.doesNotMatch(await page.getByTestId('trip-distance').innerText(), /known when the trip ends/);
  });

  it('parks and drives on by keyboard', async () => {
    const { page } = rider;
    await pressByKeyboard(page, 'Park (pause)');
    await settled(page, page.getByTestId('trip-status').getByText('parked', { exact: true }), 30_000);
    await page.getByText(/Parked since .*: the car is locked/).waitFor();
    await capture(page, 'trip-parked');
    await pressByKeyboard(page, 'Resume');
    await settled(page, page.getByTestId('trip-status').getByText('driving', { exact: true }), 30_000);
  });

  it('ends the trip inside the home zone and shows every line of the receipt, and its PDF', async () => {
    const { page } = rider;
    await pressByKeyboard(page, 'End trip');
    await settled(page, page.getByRole('heading', { name: 'Receipt', level: 1 }), 30_000);
    await page.getByTestId('receipt-total').waitFor();

    const answer = await t.api.call('GET', `/v1/trips/${tripId}/receipt`, { token: operatorToken });
    assert.equal(answer.status, 200, answer.text);
    const receipt = answer.body as {
      totalCents: number;
      vatCents: number;
      depositReleasedCents: number;
      meteredLines: Array<{ code: string }>;
      feeLines: Array<{ code: string }>;
      endZone: { name: string };
    };
    assert.equal(receipt.endZone.name, 'City');
    const euros = (cents: number) => `€${(cents / 100).toFixed(2)}`;
    for (const line of receipt.meteredLines) await page.locator(`tr[data-line="${line.code}"]`).waitFor();
    assert.deepEqual(receipt.meteredLines.map((line) => line.code).sort(), ['distance', 'driving', 'parking', 'unlock']);
    // The extension bought before the trip is a fee line of its receipt; every fee line is a row.
    assert.ok(receipt.feeLines.some((line) => line.code === 'reservation_extension'), JSON.stringify(receipt.feeLines));
    for (const line of receipt.feeLines) await page.locator(`tr[data-line="${line.code}"]`).waitFor();
    await page.locator('tr[data-line="reservation_extension"]').getByText('Reservation extension').waitFor();
    assert.equal(await page.getByTestId('receipt-total').innerText(), euros(receipt.totalCents));
    assert.match(await page.getByTestId('receipt-vat').innerText(), new RegExp(`Includes VAT \\(19%\\): ${euros(receipt.vatCents).replace('.', '\\.')}`));
    assert.equal(await page.getByTestId('receipt-deposit-released').innerText(), euros(receipt.depositReleasedCents));
    await page.getByText('Ended in: City').waitFor();
    await capture(page, 'receipt');

    // The PDF needs the bearer token: the app fetches it and hands it over as a download.
    const pdfAnswer = page.waitForResponse((response) => response.url().endsWith(`/v1/trips/${tripId}/receipt.pdf`));
    const download = page.waitForEvent('download');
    await pressByKeyboard(page, 'Download receipt (PDF)');
    const response = await pdfAnswer;
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['content-type'], 'application/pdf');
    // What the rider gets is the document the API sent (the app hands over the fetched bytes).
    const saved = await download;
    assert.match(saved.suggestedFilename(), /^receipt-.*\.pdf$/);
    const bytes = readFileSync(await saved.path());
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.equal(bytes.length, Number(response.headers()['content-length'] ?? bytes.length));
    await page.getByTestId('receipt-pdf-link').waitFor();
  });

  it('lists the trip in the history', async () => {
    const { page } = rider;
    await page.getByRole('navigation').getByRole('link', { name: 'History' }).click();
    const history = page.getByTestId('trip-history');
    await history.getByRole('listitem').first().waitFor();
    assert.equal(await history.getByRole('listitem').count(), 1);
    assert.match(await history.innerText(), /finished/);
    await capture(page, 'history');
    await page.getByRole('navigation').getByRole('link', { name: 'Trip' }).click();
    await page.getByText('You have no trip in progress.').waitFor();
  });

  it('drops a car from the rider’s map once an operator sends it to maintenance', async () => {
    const { page } = rider;
    const car = fleet.cars[1];
    assert.ok(car?.plate);
    await page.getByRole('navigation').getByRole('link', { name: 'Cars' }).click();
    const list = page.getByRole('list', { name: 'Available cars' });
    const listed = list.getByRole('link').filter({ hasText: car.plate });
    await listed.waitFor({ timeout: 20_000 });
    const map = page.getByTestId('car-map');
    await map.and(page.locator('[data-ready="true"]')).waitFor({ timeout: 30_000 });
    const before = Number(await map.getAttribute('data-car-count'));

    const operatorPage = await consolePage();
    await operatorPage.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Cars' }).click();
    await operatorPage.getByRole('button', { name: `Start maintenance ${car.plate}` }).click();
    await operatorPage.getByRole('status').filter({ hasText: `${car.plate} is now Maintenance.` }).waitFor();

    // No reload: the live feed tells the open map the car is gone.
    await listed.waitFor({ state: 'detached', timeout: 20_000 });
    await map.and(page.locator(`[data-car-count="${before - 1}"]`)).waitFor();
    await capture(page, 'map-after-maintenance');
    expectNoProblems(rider.problems, 'rider');
    expectNoProblems(console_.problems, 'console');
  });

  it('shows a new rider an empty history, on a desktop', async () => {
    const { page, context, problems } = await browser.open({ viewport: 'desktop', baseUrl: t.platform.gatewayUrl });
    const newcomer = { email: `newcomer-${randomUUID()}@example.com`, password: 'silver-Orchard-2-pebble' };
    await t.platform.module(userDescriptor).users.createAccount({ ...newcomer, displayName: 'New Rider', role: 'rider', plan: 'free' });
    await page.goto('/trips');
    await page.getByLabel('Email').fill(newcomer.email);
    await page.getByLabel('Password').fill(newcomer.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await settled(page, page.getByText('You have not taken a trip yet.'));
    await capture(page, 'history-empty');
    expectNoProblems(problems, 'empty history');
    await context.close();
  });
});
