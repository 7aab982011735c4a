import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope, LicenceFields } from '@carshare/contracts';
import { licenceCardSample, renderLicenceCard } from '@carshare/profile-service/testing';
import { userDescriptor } from '@carshare/user-service';
import { assertError } from './support/error-shape.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

// Issue 11, acceptance 4, through the gateway on the embedded platform with the real blob
// service (files store) and the real OCR (tesseract.js, about a second per photo here): upload
// photos → submit → auto-verified, or pending → an operator approves; a rejected rider
// resubmits and is approved; a test consumer sees profile.verified.
describe('driver verification end to end', () => {
  let t: TestPlatform;
  let operator: string;
  const verified: EventEnvelope[] = [];

  async function login(email: string, password: string): Promise<{ token: string; userId: string }> {
    const answer = await t.api.call('POST', '/v1/auth/login', { body: { email, password } });
    assert.equal(answer.status, 200, answer.text);
    const body = answer.body as { tokens: { accessToken: string }; user: { id: string } };
    return { token: body.tokens.accessToken, userId: body.user.id };
  }

  async function newRider(): Promise<{ token: string; userId: string }> {
    const email = `rider-${randomUUID()}@example.com`;
    await t.platform.module(userDescriptor).users.createAccount({ email, password: 'rider-password-1', displayName: 'Rider', role: 'rider', plan: 'free' });
    return login(email, 'rider-password-1');
  }

  async function uploadPhoto(token: string, purpose: 'licence_front' | 'licence_back' | 'selfie', png: Buffer): Promise<string> {
    const created = await t.api.call('POST', '/v1/profile/photos', { token, body: { purpose, contentType: 'image/png', sizeBytes: png.length } });
    assert.equal(created.status, 201, created.text);
    const { blob, upload } = created.body as { blob: { id: string }; upload: { url: string; method: string; headers: Record<string, string> } };
    const put = await fetch(new URL(upload.url, t.api.baseUrl), { method: upload.method, headers: upload.headers, body: png, signal: AbortSignal.timeout(15_000) });
    assert.ok(put.ok, `upload answered ${put.status}: ${await put.text()}`);
    return blob.id;
  }

  /**
   * A rider whose typed fields are `typed` and whose licence photo shows sample `card`, submitted.
   * The photo is a careful one (slight tilt, little grain): the hard cases are the accuracy run's.
   */
  async function submittedRider(card: number, typed: (printed: LicenceFields) => LicenceFields) {
    const rider = await newRider();
    const sample = licenceCardSample(card);
    const fields = sample.fields;
    const style = { ...sample.style, rotationDegrees: 1, noise: 0.04 };
    const put = await t.api.call('PUT', '/v1/profile', { token: rider.token, body: { fields: typed(fields) } });
    assert.equal(put.status, 200, put.text);
    await uploadPhoto(rider.token, 'licence_front', renderLicenceCard(fields, style));
    const other = renderLicenceCard(fields, { ...style, rotationDegrees: 0, noise: 0 });
    await uploadPhoto(rider.token, 'licence_back', other);
    await uploadPhoto(rider.token, 'selfie', other);
    const submitted = await t.api.call('POST', '/v1/profile/submit', { token: rider.token, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(submitted.status, 200, submitted.text);
    assert.equal((submitted.body as { status: string }).status, 'pending');
    return { ...rider, fields: typed(fields), printed: fields };
  }

  async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const until = Date.now() + 120_000;
    for (;;) {
      const found = await probe();
      if (found !== undefined) return found;
      if (Date.now() > until) {
        // Say what the operator would see: the OCR state and error explain most waits.
        const userId = /[0-9a-f-]{36}/.exec(what)?.[0];
        const review = userId ? await t.api.call('GET', `/v1/admin/reviews/${userId}`, { token: operator }) : undefined;
        throw new Error(`timed out waiting for ${what}; review: ${JSON.stringify((review?.body as { ocr?: unknown } | undefined)?.ocr)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The operator's view once the OCR has read the current submission. */
  function reviewOnceRead(userId: string) {
    return eventually(`the OCR reading of ${userId}`, async () => {
      const review = await t.api.call('GET', `/v1/admin/reviews/${userId}`, { token: operator });
      assert.equal(review.status, 200, review.text);
      const body = review.body as { profile: { status: string }; ocr: { state: string; problems: Array<{ field: string; problem: string }> }; photoUrls: Record<string, { url: string } | null> };
      return body.ocr.state === 'read' ? body : undefined;
    });
  }

  function verifiedEventOf(userId: string, count = 1) {
    return eventually(`profile.verified for ${userId}`, async () => {
      const events = verified.filter((event) => event.subject === userId);
      return events.length >= count ? events : undefined;
    });
  }

  before(async () => {
    t = await startTestPlatform({ seedDemo: true });
    operator = (await login('operator@carshare.local', 'operator-demo-pass')).token;
    // The test consumer: its own group on the platform's bus.
    await t.platform.module(userDescriptor).messaging.subscribe('e2e.profile-verified', ['profile.verified'], async (event) => {
      verified.push(event);
    });
  });

  after(() => t?.close());

  it('auto-verifies a rider whose licence photo matches what they typed', async () => {
    const rider = await submittedRider(2, (printed) => printed);
    const profile = await eventually(`auto-verification of ${rider.userId}`, async () => {
      const answer = await t.api.call('GET', '/v1/profile', { token: rider.token });
      const body = answer.body as { status: string; verifiedBy: string | null };
      return body.status === 'verified' ? body : undefined;
    });
    assert.equal(profile.verifiedBy, 'ocr');
    const [event] = await verifiedEventOf(rider.userId);
    assert.equal((event?.data as { by: string }).by, 'ocr');
  });

  it('leaves a mismatching rider pending with the problems per field until an operator approves', async () => {
    const rider = await submittedRider(7, (printed) => ({ ...printed, licenceNumber: `${printed.licenceNumber.slice(0, -1)}${printed.licenceNumber.endsWith('7') ? '8' : '7'}` }));
    const review = await reviewOnceRead(rider.userId);
    assert.equal(review.profile.status, 'pending');
    assert.deepEqual(review.ocr.problems.map(({ field, problem }) => [field, problem]), [['licenceNumber', 'differs']]);
    const photo = await fetch(new URL(review.photoUrls['licenceFront']?.url ?? '/missing', t.api.baseUrl));
    assert.equal(photo.status, 200, 'the operator sees the licence photo');

    const queue = await t.api.call('GET', '/v1/admin/reviews', { token: operator, query: { status: 'pending', limit: 100 } });
    assert.ok((queue.body as { items: Array<{ userId: string }> }).items.some((item) => item.userId === rider.userId));
    assertError(await t.api.call('GET', `/v1/admin/reviews/${rider.userId}`, { token: rider.token }), 403, 'OPERATOR_ONLY');

    const approved = await t.api.call('POST', `/v1/admin/reviews/${rider.userId}/approve`, { token: operator, body: { note: 'a smudge on the last digit' }, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(approved.status, 200, approved.text);
    assert.equal((approved.body as { status: string }).status, 'verified');
    const [event] = await verifiedEventOf(rider.userId);
    assert.equal((event?.data as { by: string }).by, 'operator');
  });

  it('lets a rejected rider see the reason, resubmit and be approved', async () => {
    const rider = await submittedRider(9, (printed) => ({ ...printed, surname: `${printed.surname}X` }));
    await reviewOnceRead(rider.userId);
    const rejected = await t.api.call('POST', `/v1/admin/reviews/${rider.userId}/reject`, {
      token: operator,
      body: { reason: 'fields_do_not_match', text: 'please check your surname', fieldNotes: [{ field: 'surname', note: 'the card shows another spelling' }] },
      headers: { 'idempotency-key': randomUUID() },
    });
    assert.equal(rejected.status, 200, rejected.text);
    const mine = await t.api.call('GET', '/v1/profile', { token: rider.token });
    const body = mine.body as { status: string; rejection: { reason: string; text: string; fieldNotes: unknown[] } };
    assert.equal(body.status, 'rejected');
    assert.equal(body.rejection.reason, 'fields_do_not_match');
    assert.equal(body.rejection.text, 'please check your surname');

    const again = await t.api.call('POST', '/v1/profile/submit', { token: rider.token, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(again.status, 200, again.text);
    assert.equal((again.body as { status: string }).status, 'pending');
    await reviewOnceRead(rider.userId);
    const approved = await t.api.call('POST', `/v1/admin/reviews/${rider.userId}/approve`, { token: operator, body: {}, headers: { 'idempotency-key': randomUUID() } });
    assert.equal((approved.body as { status: string }).status, 'verified');
    await verifiedEventOf(rider.userId);
  });

  it('refuses status in PUT /v1/profile (400), hides review from riders, and erases a profile with its photos', async () => {
    const rider = await submittedRider(2, (printed) => printed);
    const mass = await t.api.call('PUT', '/v1/profile', { token: rider.token, body: { fields: rider.fields, status: 'verified' } });
    assert.equal(mass.status, 400, mass.text);
    await eventually('verification', async () => {
      const answer = await t.api.call('GET', '/v1/profile', { token: rider.token });
      return (answer.body as { status: string }).status === 'verified' ? true : undefined;
    });
    const review = await t.api.call('GET', `/v1/admin/reviews/${rider.userId}`, { token: operator });
    const photoUrl = (review.body as { photoUrls: { licenceFront: { url: string } } }).photoUrls.licenceFront.url;
    assert.equal((await fetch(new URL(photoUrl, t.api.baseUrl))).status, 200);

    const erased = await t.api.call('DELETE', '/v1/profile', { token: rider.token, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(erased.status, 200, erased.text);
    assert.deepEqual(erased.body, { deletedPhotos: 3 });
    // The signed URL is still within its life: only the bytes being gone in the store explains a miss.
    assert.notEqual((await fetch(new URL(photoUrl, t.api.baseUrl))).status, 200);
    const after = await t.api.call('GET', '/v1/profile', { token: rider.token });
    assert.equal((after.body as { status: string; fields: unknown }).fields, null);
  });

  it('kept licence numbers and birth dates out of every log line', () => {
    const text = JSON.stringify(t.logs.lines) + t.logs.unparsed.join('\n');
    for (const card of [2, 7, 9]) {
      const { fields } = licenceCardSample(card);
      assert.ok(!text.includes(fields.licenceNumber), `licence number of card ${card} logged`);
      assert.ok(!text.includes(fields.birthDate), `birth date of card ${card} logged`);
    }
  });
});
