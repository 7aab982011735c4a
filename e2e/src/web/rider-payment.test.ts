import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { userDescriptor } from '@carshare/user-service';
import type { Locator, Page } from 'playwright-core';
import { describeViolations, launchBrowser, screenshot, seriousAccessibilityViolations, type TestBrowser } from '../support/browser.ts';
import { startTestPlatform, type TestPlatform } from '../support/test-platform.ts';

// The rider app's Payment screen, on a real embedded platform in Debian's chromium: a signed-up
// rider adds a card through the card widget (the simulated processor's test cards), sees it listed,
// adds a second, removes one after confirming, pages through many cards with "load more", and the
// screen has no serious accessibility violation. The platform only ever receives card tokens.

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');

describe('the rider app payment screen in a real browser', () => {
  let t: TestPlatform;
  let browser: TestBrowser;

  before(async () => {
    await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts', 'build-web.mjs'), 'rider-web'], { cwd: repoRoot, timeout: 180_000 });
    [t, browser] = await Promise.all([startTestPlatform(), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Waits for `expected`; an error notice showing first fails the test with its text instead of a timeout. */
  async function settled(page: Page, expected: Locator): Promise<void> {
    const alert = page.getByRole('alert');
    await expected.or(alert).first().waitFor();
    if (await alert.count()) assert.fail(`the app showed an error: ${await alert.first().innerText()}`);
  }

  async function expectAccessible(page: Page, screen: string): Promise<void> {
    const violations = await seriousAccessibilityViolations(page);
    assert.deepEqual(violations, [], `${screen}:\n${describeViolations(violations)}`);
  }

  async function signUpAndLogIn(page: Page): Promise<{ token: string }> {
    const rider = { email: `pay-${randomUUID()}@example.com`, password: 'copper-Meadow-4-lantern' };
    await t.platform.module(userDescriptor).users.createAccount({ ...rider, displayName: 'Pay Rider', role: 'rider', plan: 'free' });
    await page.goto('/login');
    await page.getByLabel('Email').fill(rider.email);
    await page.getByLabel('Password').fill(rider.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await settled(page, page.getByRole('heading', { name: 'Cars nearby' }));
    const login = await t.api.call('POST', '/v1/auth/login', { body: rider });
    assert.equal(login.status, 200, login.text);
    return { token: (login.body as { tokens: { accessToken: string } }).tokens.accessToken };
  }

  async function savedCards(token: string): Promise<Array<{ brand: string; last4: string }>> {
    const answer = await t.api.call('GET', '/v1/payment-methods?limit=50', { token });
    assert.equal(answer.status, 200, answer.text);
    return (answer.body as { items: Array<{ brand: string; last4: string }> }).items;
  }

  it('adds a Visa test card, lists it, adds a second, removes one after confirming, with no serious accessibility violation', async () => {
    const { page, problems, context } = await browser.open({ viewport: 'mobile', baseUrl: t.api.baseUrl });
    const { token } = await signUpAndLogIn(page);

    await page.getByRole('navigation').getByRole('link', { name: 'Payment' }).click();
    await page.getByRole('heading', { name: 'Payment', level: 1 }).waitFor();
    await settled(page, page.getByText('You have no card saved yet.'));
    await expectAccessible(page, 'payment (empty)');

    const cards = page.getByTestId('saved-cards').getByRole('listitem');
    await page.getByLabel('Visa test card ending 4242').check();
    await page.getByRole('button', { name: 'Add card' }).click();
    await settled(page, cards.filter({ hasText: 'Visa ending 4242' }));
    await page.getByRole('status').getByText('Visa ending 4242 added.').waitFor();
    assert.match(await cards.first().innerText(), /Expires 12\/2034/);

    await page.getByLabel('Mastercard test card ending 4444').check();
    await page.getByRole('button', { name: 'Add card' }).click();
    await settled(page, cards.filter({ hasText: 'Mastercard ending 4444' }));
    assert.equal(await cards.count(), 2);
    // Newest first: the card that pays for trips is the one just added.
    assert.match(await cards.first().innerText(), /Mastercard ending 4444[\s\S]*Pays for your trips/);
    await screenshot(page, 'rider-payment-mobile');
    await expectAccessible(page, 'payment (two cards)');

    await page.getByRole('button', { name: 'Remove Visa ending 4242' }).click();
    await page.getByText('Remove Visa ending 4242? You can add it again later.').waitFor();
    await expectAccessible(page, 'payment (confirm removal)');
    await page.getByRole('button', { name: 'Yes, remove' }).click();
    await page.getByRole('status').getByText('Visa ending 4242 removed.').waitFor();
    assert.equal(await cards.count(), 1);
    assert.match(await cards.first().innerText(), /Mastercard ending 4444/);
    assert.deepEqual((await savedCards(token)).map((card) => `${card.brand} ${card.last4}`), ['mastercard 4444'], 'the API agrees with the screen');

    const unexpected = problems.errors.filter((error) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(error));
    assert.deepEqual(unexpected, [], 'the page reported errors (a CSP refusal shows here too)');
    await context.close();
  });

  it('pages through more cards than one page with "load more"', async () => {
    const { page, context } = await browser.open({ viewport: 'mobile', baseUrl: t.api.baseUrl });
    const { token } = await signUpAndLogIn(page);
    const tokens = ['tok_visa', 'tok_mastercard', 'tok_amex'];
    for (let index = 0; index < 12; index += 1) {
      const added = await t.api.call('POST', '/v1/payment-methods', { token, body: { cardToken: tokens[index % tokens.length] } });
      assert.equal(added.status, 201, added.text);
    }
    await page.getByRole('navigation').getByRole('link', { name: 'Payment' }).click();
    const cards = page.getByTestId('saved-cards').getByRole('listitem');
    await settled(page, page.getByRole('button', { name: 'Load more cards' }));
    assert.equal(await cards.count(), 10);
    await page.getByRole('button', { name: 'Load more cards' }).click();
    await cards.nth(11).waitFor();
    assert.equal(await cards.count(), 12);
    assert.equal(await page.getByRole('button', { name: 'Load more cards' }).count(), 0, 'no more pages');
    await context.close();
  });
});
