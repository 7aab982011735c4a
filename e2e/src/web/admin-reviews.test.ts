import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { licenceCardSample, renderLicenceCard } from '@carshare/profile-service/testing';
import { userDescriptor } from '@carshare/user-service';
import { launchBrowser, type PageProblems, type TestBrowser } from '../support/browser.ts';
import { startTestPlatform, type TestPlatform } from '../support/test-platform.ts';
import { checkScreen, ensureConsoleBuilt, signInByKeyboard } from './admin-harness.ts';

interface ReviewCase {
  profile: { status: string; rejection: { reason: string; text: string } | null };
  ocr: { state: string; problems: Array<{ field: string; problem: string }> };
}

// Issue 15: the licence review queue worked through by keyboard alone. Two riders submit licences
// through the API (as the rider app would); the operator signs in, walks to the queue, opens the
// first with J, approves it with A and a note, and rejects the next with R and a message, never
// touching the mouse. The OCR is the simulated engine (the real one has its own end-to-end test):
// it reads the rendered card as noise, so every field comes back unreadable and must be marked.
describe('licence review queue by keyboard', () => {
  let t: TestPlatform;
  let browser: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  let operatorToken: string;
  const riders: Array<{ userId: string; surname: string; givenNames: string }> = [];

  async function call(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}) {
    return t.api.call(method as 'GET', path, { token, ...(body === undefined ? {} : { body }), headers });
  }

  async function submittedRider(card: number): Promise<{ userId: string; surname: string; givenNames: string }> {
    const email = `rider-${randomUUID()}@example.com`;
    const account = await t.platform.module(userDescriptor).users.createAccount({ email, password: 'rider-password-1', displayName: 'Rider', role: 'rider', plan: 'free' });
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email, password: 'rider-password-1' } });
    const token = (login.body as { tokens: { accessToken: string } }).tokens.accessToken;
    const { fields, style } = licenceCardSample(card);
    assert.equal((await call('PUT', '/v1/profile', token, { fields })).status, 200);
    const png = renderLicenceCard(fields, style);
    for (const purpose of ['licence_front', 'licence_back', 'selfie'] as const) {
      const created = await call('POST', '/v1/profile/photos', token, { purpose, contentType: 'image/png', sizeBytes: png.length });
      assert.equal(created.status, 201, created.text);
      const { upload } = created.body as { upload: { url: string; method: string; headers: Record<string, string> } };
      const put = await fetch(new URL(upload.url, t.api.baseUrl), { method: upload.method, headers: upload.headers, body: png, signal: AbortSignal.timeout(15_000) });
      assert.ok(put.ok, `upload answered ${put.status}`);
    }
    const submitted = await call('POST', '/v1/profile/submit', token, undefined, { 'idempotency-key': randomUUID() });
    assert.equal(submitted.status, 200, submitted.text);
    return { userId: account.id, surname: fields.surname, givenNames: fields.givenNames };
  }

  async function reviewOf(userId: string): Promise<ReviewCase> {
    const answer = await call('GET', `/v1/admin/reviews/${userId}`, operatorToken);
    assert.equal(answer.status, 200, answer.text);
    return answer.body as ReviewCase;
  }

  async function readByOcr(userId: string): Promise<ReviewCase> {
    const until = Date.now() + 30_000;
    for (;;) {
      const review = await reviewOf(userId);
      if (review.ocr.state === 'read') return review;
      assert.ok(Date.now() < until, `the OCR never read ${userId}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Tabs through the page until the element named `name` has focus (as a keyboard user would). */
  async function tabTo(name: string): Promise<void> {
    for (let presses = 0; presses < 30; presses += 1) {
      await page.keyboard.press('Tab');
      if ((await page.locator(':focus').innerText()).trim() === name) return;
    }
    assert.fail(`Tab never reached ${name}`);
  }

  before(async () => {
    ensureConsoleBuilt();
    t = await startTestPlatform({
      seedDemo: true,
      overrides: {
        profile: { 'ocr.provider': 'simulated', 'ocr.pollIntervalMs': 50, 'ocr.simulated.latencyMs': 0 },
        // Submitting re-reads three photos through the blob service: on a 2-core box shared with a
        // whole test run that has taken longer than the default 10 s; this suite is not about speed.
        gateway: { 'http.defaultDeadlineMs': 30_000 },
      },
    });
    const operator = await t.api.call('POST', '/v1/auth/login', { body: { email: 'operator@carshare.local', password: 'operator-demo-pass' } });
    operatorToken = (operator.body as { tokens: { accessToken: string } }).tokens.accessToken;
    riders.push(await submittedRider(3), await submittedRider(5));
    for (const rider of riders) await readByOcr(rider.userId);
    browser = await launchBrowser();
    ({ context, page, problems } = await browser.open({ viewport: 'desktop', baseUrl: t.platform.gatewayUrl }));
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await t?.close();
  });

  it('opens the oldest submission with J: photos beside the OCR reading, every problem marked', async () => {
    const [first] = riders;
    assert.ok(first);
    await signInByKeyboard(page);
    await tabTo('Licence reviews');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Licence reviews', level: 1 }).waitFor();
    await page.locator('.queue-list button').first().waitFor();

    await page.keyboard.press('j');
    await page.getByRole('heading', { name: new RegExp(`${first.givenNames} ${first.surname}`), level: 2 }).waitFor();
    const review = await reviewOf(first.userId);
    assert.ok(review.ocr.problems.length > 0, 'the simulated OCR leaves problems to review');
    const markedRows = page.locator('table.compare tr.mismatch');
    const marked = await Promise.all((await markedRows.all()).map((row) => row.getAttribute('data-field')));
    assert.deepEqual(marked.sort(), review.ocr.problems.map((problem) => problem.field).sort(), 'exactly the fields with problems are highlighted');
    assert.equal(await page.locator('table.compare tr.mismatch .problem').count(), review.ocr.problems.length, 'each highlight says what is wrong, not by colour alone');
    const front = page.getByRole('img', { name: new RegExp(`^Licence front: ${first.givenNames}`) });
    await front.waitFor();
    // The photo really loads from its signed URL (a broken one would still render the alt text).
    // Polled through Playwright's own evaluation: a string predicate is eval'd in the page, which the
    // console's CSP (no 'unsafe-eval') refuses.
    for (let attempt = 0; ; attempt++) {
      const loaded = await page.locator('.photos img').evaluateAll((images) =>
        images.every((image) => {
          const { complete, naturalWidth } = image as unknown as { complete: boolean; naturalWidth: number };
          return complete && naturalWidth > 0;
        }),
      );
      if (loaded) break;
      assert.ok(attempt < 300, 'the licence photos did not load');
      await page.waitForTimeout(50);
    }
    await checkScreen(page, problems, 'review-case');
  });

  it('approves with A and a note, then rejects the next one with R and a message', async () => {
    const [first, second] = riders;
    assert.ok(first && second);
    await page.keyboard.press('a');
    assert.equal(await page.locator('label', { hasText: 'Note (optional)' }).locator('input:focus').count(), 1, 'A puts the cursor in the note');
    await page.keyboard.type('licence checked by hand against the photo');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: `${first.givenNames} ${first.surname}: Verified.` }).waitFor();
    assert.equal((await reviewOf(first.userId)).profile.status, 'verified');

    // The decided one leaves the queue and the next takes its place, still by keyboard.
    await page.getByRole('heading', { name: new RegExp(`${second.givenNames} ${second.surname}`), level: 2 }).waitFor();
    await page.keyboard.press('r');
    assert.equal(await page.locator('label', { hasText: 'Reason' }).locator('select:focus').count(), 1, 'R puts the cursor on the reason');
    await page.keyboard.press('Tab');
    await page.keyboard.type('please photograph the licence in daylight');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: `${second.givenNames} ${second.surname}: Rejected.` }).waitFor();
    const rejected = await reviewOf(second.userId);
    assert.equal(rejected.profile.status, 'rejected');
    assert.equal(rejected.profile.rejection?.reason, 'fields_do_not_match');
    assert.equal(rejected.profile.rejection?.text, 'please photograph the licence in daylight');
    await page.getByText('The queue is empty.').waitFor();
  });
});
