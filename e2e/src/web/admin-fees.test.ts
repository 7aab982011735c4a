import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { paymentDescriptor } from '@carshare/payment-service';
import { userDescriptor } from '@carshare/user-service';
import { launchBrowser, type PageProblems, type TestBrowser } from '../support/browser.ts';
import { startTestPlatform, type TestPlatform } from '../support/test-platform.ts';
import { checkScreen, ensureConsoleBuilt, signInByKeyboard } from './admin-harness.ts';

// Issue 14, failed fees in the operator console (Chromium against the embedded platform): the fees
// a card refused are listed with rider, amount, reason and attempts; by keyboard alone an operator
// waives one with a reason and charges another again once its rider saved a working card; the
// screen, and its waiver form, axe-clean.
describe('operator console: failed fees', () => {
  let t: TestPlatform;
  let browser: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  let operatorToken: string;

  const payments = () => t.platform.module(paymentDescriptor).service;

  /** A rider whose only card declines, and an extension fee of theirs the card refused (the trip service's call). */
  async function failedFee(amountCents: number) {
    const email = `fee-${randomUUID()}@example.com`;
    const account = await t.platform.module(userDescriptor).users.createAccount({ email, password: 'rider-password-1', displayName: 'Fee Rider', role: 'rider', plan: 'free' });
    const caller = { userId: account.id, role: 'rider' as const, plan: 'free' as const, token: '' };
    await payments().addPaymentMethod({ cardToken: 'tok_chargeDeclined' }, caller);
    const fee = await payments().chargeFee({ riderId: account.id, reference: `reservation-extension:${randomUUID()}`, amountCents, description: 'Reservation extended by 10 min' });
    assert.equal(fee.status, 'failed');
    return { fee, caller };
  }

  async function feeOverApi(id: string, status: string) {
    const answer = await t.api.call('GET', '/v1/admin/fee-charges', { token: operatorToken, query: { status, limit: 100 } });
    assert.equal(answer.status, 200, answer.text);
    return (answer.body as { items: Array<{ id: string; status: string; attempts: number; waiver: { reason: string } | null }> }).items.find((fee) => fee.id === id);
  }

  /** The row of a fee, found by its unique reference. */
  const rowOf = (reference: string) => page.locator('table.data tbody tr', { hasText: reference });

  before(async () => {
    ensureConsoleBuilt();
    t = await startTestPlatform({ seedDemo: true, overrides: { gateway: { 'http.defaultDeadlineMs': 30_000 } } });
    const operator = await t.api.call('POST', '/v1/auth/login', { body: { email: 'operator@carshare.local', password: 'operator-demo-pass' } });
    assert.equal(operator.status, 200, operator.text);
    operatorToken = (operator.body as { tokens: { accessToken: string } }).tokens.accessToken;
    browser = await launchBrowser();
    ({ context, page, problems } = await browser.open({ viewport: 'desktop', baseUrl: t.platform.gatewayUrl }));
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await t?.close();
  });

  it('lists the refused fees, waives one with a reason and charges another again, by keyboard', async () => {
    const waivable = await failedFee(150);
    const chargeable = await failedFee(250);

    await signInByKeyboard(page);
    await page.getByRole('link', { name: 'Failed fees' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Failed fees', level: 1 }).waitFor();
    await page.waitForSelector('.loading', { state: 'detached' });

    const row = rowOf(waivable.fee.reference);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.deepEqual(cells.slice(0, 4), [waivable.caller.userId, '€1.50', 'PAYMENT_DECLINED:generic_decline', '1'], 'rider, amount, reason, attempts');
    await rowOf(chargeable.fee.reference).waitFor();
    await checkScreen(page, problems, 'fees');

    // Waive: the button by keyboard, the reason typed, the form sent with Enter.
    await row.getByRole('button', { name: /^Waive / }).focus();
    await page.keyboard.press('Enter');
    const form = page.getByRole('form', { name: /Waive: Reservation extended by 10 min, €1\.50/ });
    await form.waitFor();
    await checkScreen(page, problems, 'fees-waive-form');
    await page.keyboard.type('first extension, goodwill');
    await page.keyboard.press('Enter');
    await page.getByText('Waived €1.50.').waitFor();
    await row.waitFor({ state: 'detached' });
    const waived = await feeOverApi(waivable.fee.id, 'waived');
    assert.equal(waived?.waiver?.reason, 'first extension, goodwill', 'the reason is kept on the fee');

    // The other rider saves a working card; "Charge again" by keyboard charges it once.
    await payments().addPaymentMethod({ cardToken: 'tok_visa' }, chargeable.caller);
    const other = rowOf(chargeable.fee.reference);
    await other.getByRole('button', { name: /^Charge again / }).focus();
    await page.keyboard.press('Enter');
    await page.getByText('Charged €2.50.').waitFor();
    await other.waitFor({ state: 'detached' });
    const charged = await feeOverApi(chargeable.fee.id, 'charged');
    assert.deepEqual([charged?.status, charged?.attempts], ['charged', 2]);
    assert.equal((await payments().getPaymentByReference({ reference: chargeable.fee.reference })).capturedCents, 250, 'captured once');

    // The charged ones, by the status filter: the fee is there, without actions.
    await page.getByLabel('Status').selectOption('charged');
    await page.getByRole('button', { name: 'Apply' }).click();
    await rowOf(chargeable.fee.reference).waitFor();
    assert.equal(await rowOf(chargeable.fee.reference).getByRole('button').count(), 0);
    await checkScreen(page, problems, 'fees-charged');
    assert.deepEqual(problems.errors, []);
  });
});
