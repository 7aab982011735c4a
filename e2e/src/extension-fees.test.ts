import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { paymentDescriptor } from '@carshare/payment-service';
import { ApiSession, PublicApi, PublicApiError, newRiderIdentity, onboardRider } from '@carshare/simulator';
import { tripDescriptor } from '@carshare/trip-service';
import { demoAccounts } from '@carshare/user-service';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

interface FeeCharge {
  id: string;
  reference: string;
  riderId: string;
  amountCents: number;
  status: string;
  attempts: number;
  lastError: string | null;
}

// Issue 14, an extended reservation whose trip fails to start because the rider's card declines
// the deposit, through the gateway on the embedded platform (real trip, payment and simulated
// processor): the extension fee is charged alone (ADR 0028), the card refuses it as well, an
// operator finds it in the failed-fee queue, the rider saves a working card, the operator's retry
// charges it exactly once (ledger and processor), and a later sweep charges nothing more.
describe('the extension fee of a trip start the rider failed', () => {
  let t: TestPlatform;
  let api: PublicApi;
  let operator: ApiSession;

  before(async () => {
    t = await startTestPlatform({ seedDemo: true, overrides: { gateway: { 'http.defaultDeadlineMs': 30_000 } } });
    api = new PublicApi({ apiUrl: t.platform.gatewayUrl, timeoutMs: 30_000 });
    operator = new ApiSession(api, demoAccounts.operator);
  });
  after(() => t?.close());

  it('is charged alone, refused, listed for the operator, charged once by a retry and never again by the sweep', async () => {
    const rider = await onboardRider({ api, identity: newRiderIdentity(1), backOffice: operator, now: Date.now });
    const riderId = await rider.userId();
    // Newest card pays: a declining one.
    await rider.call('POST', '/v1/payment-methods', { body: { cardToken: 'tok_chargeDeclined' } });
    const { car } = await operator.call<{ car: { id: string } }>('POST', '/v1/admin/cars', {
      body: { plate: `FE ${randomUUID().slice(0, 4).toUpperCase()}`, vin: `WAUZZZ8V0KA${String(Date.now() % 1_000_000).padStart(6, '0')}`, model: 'Renault Zoe', category: 'compact', seats: 5, fuelType: 'electric', position: { lat: 52.52, lng: 13.405 } },
    });

    const reservation = await rider.call<{ id: string }>('POST', '/v1/reservations', { body: { carId: car.id }, idempotencyKey: randomUUID() });
    const extended = await rider.call<{ extension: { feeCents: number } }>('POST', `/v1/reservations/${reservation.id}/extend`, { idempotencyKey: randomUUID() });
    const feeCents = extended.extension.feeCents;
    assert.ok(feeCents > 0);

    const provider = t.platform.module(paymentDescriptor).provider as unknown as { calls: { capture: number } };
    const capturesBefore = provider.calls.capture;
    await assert.rejects(rider.call('POST', '/v1/trips', { body: { reservationId: reservation.id }, idempotencyKey: randomUUID() }), (error: unknown) => {
      assert.ok(error instanceof PublicApiError, String(error));
      assert.deepEqual([error.status, error.code], [409, 'PAYMENT_DECLINED']);
      return true;
    });

    const reference = `reservation-extension:${reservation.id}`;
    const failed = await operator.call<{ items: FeeCharge[] }>('GET', '/v1/admin/fee-charges', { query: { riderId, limit: 10 } });
    const fee = failed.items.find((item) => item.reference === reference);
    assert.ok(fee, `the refused fee is in the queue: ${JSON.stringify(failed.items)}`);
    assert.deepEqual([fee.amountCents, fee.status, fee.attempts, fee.lastError], [feeCents, 'failed', 1, 'PAYMENT_DECLINED:generic_decline']);

    await rider.call('POST', '/v1/payment-methods', { body: { cardToken: 'tok_visa' } });
    const charged = await operator.call<FeeCharge>('POST', `/v1/admin/fee-charges/${fee.id}/retry`, { idempotencyKey: randomUUID() });
    assert.deepEqual([charged.status, charged.attempts], ['charged', 2]);
    const again = await operator.call<FeeCharge>('POST', `/v1/admin/fee-charges/${fee.id}/retry`, { idempotencyKey: randomUUID() });
    assert.deepEqual([again.status, again.attempts], ['charged', 2], 'a second retry charges nothing');
    await t.platform.module(tripDescriptor).sweep();

    const payment = await t.platform.module(paymentDescriptor).service.getPaymentByReference({ reference });
    assert.deepEqual([payment.status, payment.capturedCents], ['captured', feeCents], 'charged once in our books');
    assert.equal(provider.calls.capture - capturesBefore, 1, 'and once at the processor');
    const books = await operator.call<{ balanced: boolean }>('GET', '/v1/admin/ledger/check');
    assert.equal(books.balanced, true);
  });
});
