import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { paymentDescriptor } from '@carshare/payment-service';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import { assertError } from './support/error-shape.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

describe('payments through the gateway (embedded platform)', () => {
  let t: TestPlatform;
  let rider: string;
  let riderId: string;
  let operator: string;

  async function login(account: { email: string; password: string }) {
    const answer = await t.api.call('POST', '/v1/auth/login', { body: { email: account.email, password: account.password } });
    assert.equal(answer.status, 200, answer.text);
    return answer.body as { tokens: { accessToken: string }; user: { id: string } };
  }

  before(async () => {
    t = await startTestPlatform();
    await seedDemoData(t.platform.module(userDescriptor).users);
    const riderSession = await login(demoAccounts.rider);
    rider = riderSession.tokens.accessToken;
    riderId = riderSession.user.id;
    operator = (await login(demoAccounts.operator)).tokens.accessToken;
  });
  after(() => t?.close());

  it('saves a card for the rider and lists it without the processor token', async () => {
    const added = await t.api.call('POST', '/v1/payment-methods', { token: rider, body: { cardToken: 'tok_visa' } });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.body.last4, '4242');
    assert.equal('providerToken' in added.body, false);
    const listed = await t.api.call('GET', '/v1/payment-methods', { token: rider });
    assert.deepEqual(listed.body.items.map((method: { id: string }) => method.id), [added.body.id]);
    assertError(await t.api.call('POST', '/v1/payment-methods', { token: rider, body: { cardToken: 'tok_unknown' } }), 400, 'CARD_REFUSED');
    assertError(await t.api.call('POST', '/v1/payment-methods', { token: rider, body: { cardToken: 'tok_visa', status: 'x' } }), 400, 'VALIDATION_FAILED');
  });

  it('shows a captured trip payment to its rider, refunds it once per Idempotency-Key for an operator, and keeps the books balanced', async () => {
    const payments = t.platform.module(paymentDescriptor).service;
    // The trip service's part (a hold at start, a capture at the end), called as the platform does.
    const held = await payments.authorize({ riderId, reference: `trip-${randomUUID()}`, amountCents: 5_000 });
    await payments.capture({ paymentId: held.id, amountCents: 4_200 });

    const mine = await t.api.call('GET', '/v1/payments', { token: rider });
    assert.equal(mine.status, 200, mine.text);
    assert.ok(mine.body.items.some((payment: { id: string; status: string }) => payment.id === held.id && payment.status === 'captured'));

    assertError(await t.api.call('POST', `/v1/admin/payments/${held.id}/refund`, { token: rider, body: { amountCents: 100, reason: 'goodwill' }, headers: { 'idempotency-key': randomUUID() } }), 403, 'OPERATOR_ONLY');
    assertError(await t.api.call('POST', `/v1/admin/payments/${held.id}/refund`, { token: operator, body: { amountCents: 100, reason: 'goodwill' } }), 400, 'IDEMPOTENCY_KEY_REQUIRED');

    const key = randomUUID();
    const refund = { amountCents: 1_200, reason: 'car_issue', note: 'warning light' };
    const first = await t.api.call('POST', `/v1/admin/payments/${held.id}/refund`, { token: operator, body: refund, headers: { 'idempotency-key': key } });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.payment.status, 'partially_refunded');
    const replay = await t.api.call('POST', `/v1/admin/payments/${held.id}/refund`, { token: operator, body: refund, headers: { 'idempotency-key': key } });
    assert.equal(replay.headers.get('idempotency-replayed'), 'true');
    const after = await t.api.call('GET', `/v1/admin/payments/${held.id}`, { token: operator });
    assert.deepEqual([after.body.payment.refundedCents, after.body.refunds.length], [1_200, 1]);

    assertError(
      await t.api.call('POST', `/v1/admin/payments/${held.id}/refund`, { token: operator, body: { amountCents: 3_001, reason: 'goodwill' }, headers: { 'idempotency-key': randomUUID() } }),
      409,
      'REFUND_EXCEEDS_CAPTURE',
    );
    const books = await t.api.call('GET', '/v1/admin/ledger/check', { token: operator });
    assert.equal(books.status, 200, books.text);
    assert.equal(books.body.balanced, true, books.text);
  });

  it("answers another rider's payment id as not found", async () => {
    const payments = t.platform.module(paymentDescriptor).service;
    const operatorId = (await login(demoAccounts.operator)).user.id;
    await payments.addPaymentMethod({ cardToken: 'tok_mastercard' }, { userId: operatorId, role: 'operator', plan: 'unlimited', token: '' });
    const theirs = await payments.authorize({ riderId: operatorId, reference: `trip-${randomUUID()}`, amountCents: 700 });
    assertError(await t.api.call('GET', `/v1/payments/${theirs.id}`, { token: rider }), 404, 'PAYMENT_NOT_FOUND');
  });

  it('lists failed fees for operators only, paginated and filtered; a retry needs an Idempotency-Key, charges once; a waiver needs a reason', async () => {
    const payments = t.platform.module(paymentDescriptor).service;
    const email = `fee-rider-${randomUUID()}@example.com`;
    const account = await t.platform.module(userDescriptor).users.createAccount({ email, password: 'rider-password-1', displayName: 'Fee Rider', role: 'rider', plan: 'free' });
    const feeRider = { userId: account.id, role: 'rider' as const, plan: 'free' as const, token: '' };
    await payments.addPaymentMethod({ cardToken: 'tok_chargeDeclined' }, feeRider);
    // The trip service's part: an extension fee charged alone, which the card refuses.
    const charge = (amountCents: number) => payments.chargeFee({ riderId: account.id, reference: `reservation-extension:${randomUUID()}`, amountCents, description: 'Reservation extended by 10 min' });
    const first = await charge(150);
    const second = await charge(250);
    assert.deepEqual([first.status, second.status], ['failed', 'failed']);

    assertError(await t.api.call('GET', '/v1/admin/fee-charges', { token: rider }), 403, 'OPERATOR_ONLY');
    assertError(await t.api.call('GET', '/v1/admin/fee-charges', { token: operator, query: { status: 'lost' } }), 400, 'VALIDATION_FAILED');
    assertError(await t.api.call('GET', '/v1/admin/fee-charges', { token: operator, query: { riderId: 'someone' } }), 400, 'VALIDATION_FAILED');
    const page1 = await t.api.call('GET', '/v1/admin/fee-charges', { token: operator, query: { riderId: account.id, limit: 1 } });
    assert.equal(page1.status, 200, page1.text);
    assert.equal(page1.body.items[0].id, second.id, 'newest first');
    assert.deepEqual(
      [page1.body.items[0].riderId, page1.body.items[0].amountCents, page1.body.items[0].lastError, page1.body.items[0].attempts, page1.body.items[0].status],
      [account.id, 250, 'PAYMENT_DECLINED:generic_decline', 1, 'failed'],
    );
    const page2 = await t.api.call('GET', '/v1/admin/fee-charges', { token: operator, query: { riderId: account.id, limit: 1, cursor: page1.body.nextCursor } });
    assert.deepEqual(page2.body.items.map((fee: { id: string }) => fee.id), [first.id]);
    assertError(await t.api.call('GET', '/v1/admin/fee-charges', { token: operator, query: { cursor: 'not-a-cursor' } }), 400, 'INVALID_CURSOR');

    const retryUrl = `/v1/admin/fee-charges/${second.id}/retry`;
    assertError(await t.api.call('POST', retryUrl, { token: operator }), 400, 'IDEMPOTENCY_KEY_REQUIRED');
    assertError(await t.api.call('POST', retryUrl, { token: rider, headers: { 'idempotency-key': randomUUID() } }), 403, 'OPERATOR_ONLY');
    const declinedAgain = await t.api.call('POST', retryUrl, { token: operator, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(declinedAgain.status, 200, declinedAgain.text);
    assert.deepEqual([declinedAgain.body.status, declinedAgain.body.attempts], ['failed', 2]);

    await payments.addPaymentMethod({ cardToken: 'tok_visa' }, feeRider);
    const key = randomUUID();
    const charged = await t.api.call('POST', retryUrl, { token: operator, headers: { 'idempotency-key': key } });
    assert.equal(charged.status, 200, charged.text);
    assert.deepEqual([charged.body.status, charged.body.attempts], ['charged', 3]);
    const replayed = await t.api.call('POST', retryUrl, { token: operator, headers: { 'idempotency-key': key } });
    assert.equal(replayed.headers.get('idempotency-replayed'), 'true');
    const anotherKey = await t.api.call('POST', retryUrl, { token: operator, headers: { 'idempotency-key': randomUUID() } });
    assert.deepEqual([anotherKey.status, anotherKey.body.status, anotherKey.body.attempts], [200, 'charged', 3], 'a charged fee answers as it is');
    const payment = await payments.getPaymentByReference({ reference: charged.body.reference });
    assert.equal(payment.capturedCents, 250, 'captured once');

    const waiveUrl = `/v1/admin/fee-charges/${first.id}/waive`;
    assertError(await t.api.call('POST', waiveUrl, { token: operator, body: { reason: '   ' }, headers: { 'idempotency-key': randomUUID() } }), 400, 'VALIDATION_FAILED');
    assertError(await t.api.call('POST', waiveUrl, { token: operator, body: {}, headers: { 'idempotency-key': randomUUID() } }), 400, 'VALIDATION_FAILED');
    assertError(await t.api.call('POST', `/v1/admin/fee-charges/${second.id}/waive`, { token: operator, body: { reason: 'x' }, headers: { 'idempotency-key': randomUUID() } }), 409, 'FEE_CHARGE_NOT_FAILED');
    assertError(await t.api.call('POST', `/v1/admin/fee-charges/${randomUUID()}/waive`, { token: operator, body: { reason: 'x' }, headers: { 'idempotency-key': randomUUID() } }), 404, 'FEE_CHARGE_NOT_FOUND');
    const waived = await t.api.call('POST', waiveUrl, { token: operator, body: { reason: 'first extension, goodwill' }, headers: { 'idempotency-key': randomUUID() } });
    assert.equal(waived.status, 200, waived.text);
    assert.equal(waived.body.status, 'waived');
    assert.equal(waived.body.waiver.reason, 'first extension, goodwill');
    const left = await t.api.call('GET', '/v1/admin/fee-charges', { token: operator, query: { riderId: account.id } });
    assert.deepEqual(left.body.items, [], 'no failed fee of the rider left');
    const books = await t.api.call('GET', '/v1/admin/ledger/check', { token: operator });
    assert.equal(books.body.balanced, true, books.text);
  });
});
