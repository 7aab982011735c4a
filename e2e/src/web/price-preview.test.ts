import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { userDescriptor } from '@carshare/user-service';
import type { Page } from 'playwright-core';
import { describeViolations, launchBrowser, screenshot, seriousAccessibilityViolations, type TestBrowser } from '../support/browser.ts';
import { startTestPlatform, type TestPlatform } from '../support/test-platform.ts';

// The car screen's price preview in Chromium against a real embedded platform: the figure shown
// is the API's, it follows the planned time the rider picks, a failed request says so and can be
// retried, and German reads German.

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

interface Preview {
  totalCents: number;
}

describe('the rider app shows the price preview of a car', () => {
  let t: TestPlatform;
  let browser: TestBrowser;
  let carId: string;
  const rider = { email: `preview-${randomUUID()}@example.com`, password: 'rider-password-12' };

  before(async () => {
    await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts', 'build-web.mjs'), 'rider-web'], { cwd: repoRoot, timeout: 180_000 });
    [t, browser] = await Promise.all([startTestPlatform(), launchBrowser()]);
    const users = t.platform.module(userDescriptor).users;
    const operator = { email: `operator-${randomUUID()}@example.com`, password: 'operator-password-1' };
    await users.createAccount({ ...operator, displayName: 'Operator', role: 'operator', plan: 'unlimited' });
    await users.createAccount({ ...rider, displayName: 'Rider', role: 'rider', plan: 'free' });
    const login = await t.api.call<{ tokens: { accessToken: string } }>('POST', '/v1/auth/login', { body: operator });
    assert.equal(login.status, 200, login.text);
    const created = await t.api.call<{ car: { id: string } }>('POST', '/v1/admin/cars', {
      token: login.body.tokens.accessToken,
      body: { plate: 'B-PV 1', vin: 'WDDCARSHR00000071', model: 'VW ID. Buzz', category: 'van', seats: 7, fuelType: 'electric', position: { lat: 52.52, lng: 13.405 } },
    });
    assert.equal(created.status, 201, created.text);
    carId = created.body.car.id;
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function apiTotal(minutes: number, km: number, page: Page, language: string): Promise<string> {
    const login = await t.api.call<{ tokens: { accessToken: string } }>('POST', '/v1/auth/login', { body: rider });
    const preview = await t.api.call<Preview>('GET', `/v1/cars/${carId}/price-preview`, { token: login.body.tokens.accessToken, query: { minutes, km } });
    assert.equal(preview.status, 200, preview.text);
    // Formatted by the page's own Intl, as the app does.
    return page.evaluate(([cents, lang]) => new Intl.NumberFormat(lang, { style: 'currency', currency: 'EUR' }).format(cents / 100), [preview.body.totalCents, language] as const);
  }

  async function logIn(page: Page): Promise<void> {
    await page.goto('/login');
    await page.locator('#login-email').fill(rider.email);
    await page.locator('#login-password').fill(rider.password);
    await page.locator('#login-password').press('Enter');
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  }

  it('shows the API price for 30 min and 10 km, follows the planned time, and retries after a failure', async () => {
    const { page, context } = await browser.open({ viewport: 'mobile', baseUrl: t.api.baseUrl, locale: 'en-GB' });
    await logIn(page);
    // The first preview fails: the screen says so and offers a retry that then shows the price.
    let failed = 0;
    await page.route('**/price-preview**', async (route) => {
      failed += 1;
      await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: 'down', details: {}, traceId: 'e2e' } }) });
    });
    await page.goto(`/cars/${carId}`);
    const preview = page.getByTestId('price-preview');
    await preview.getByRole('alert').waitFor();
    assert.ok(failed >= 1);
    await page.unroute('**/price-preview**');
    await preview.getByRole('button', { name: 'Try again' }).click();
    const total = page.getByTestId('price-preview-total');
    await total.waitFor();
    assert.equal(await total.innerText(), `About ${await apiTotal(30, 10, page, 'en-GB')} for 30 min and 10 km`);
    assert.match(await preview.innerText(), /Distance \(10 km × /);

    await page.getByLabel('Planned time').selectOption('60');
    await total.and(page.getByText('for 1 h and 10 km')).waitFor();
    assert.equal(await total.innerText(), `About ${await apiTotal(60, 10, page, 'en-GB')} for 1 h and 10 km`);
    // A day is capped by a package, and the screen names it.
    await page.getByLabel('Planned time').selectOption('1440');
    await page.getByTestId('price-preview-package').waitFor();
    assert.equal(await total.innerText(), `About ${await apiTotal(1440, 10, page, 'en-GB')} for 24 h and 10 km`);
    const violations = await seriousAccessibilityViolations(page);
    assert.deepEqual(violations, [], describeViolations(violations));
    await screenshot(page, 'rider-car-price-preview-mobile');
    await context.close();
  });

  it('reads German in German', async () => {
    const { page, context } = await browser.open({ viewport: 'desktop', baseUrl: t.api.baseUrl, locale: 'de-DE' });
    await logIn(page);
    await page.goto(`/cars/${carId}`);
    const total = page.getByTestId('price-preview-total');
    await total.waitFor();
    assert.equal(await total.innerText(), `Etwa ${await apiTotal(30, 10, page, 'de')} für 30 Min. und 10 km`);
    await page.getByLabel('Geplante Dauer').waitFor();
    await screenshot(page, 'rider-car-price-preview-de-desktop');
    await context.close();
  });
});
