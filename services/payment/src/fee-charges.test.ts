import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Unavailable, uuidV7Ids, type Caller } from '@carshare/platform';
import { FakeClock } from '@carshare/testing';
import type { SimulatedPaymentProvider } from './adapters/simulated-payment-provider.ts';
import type { PaymentModule } from './module.ts';
import { openPaymentTestModule, type PaymentTestModule } from './testing/open-payment-test-module.ts';

// Fees charged on their own (a reservation's extension fee no trip carries) and the operators'
// failed-fee queue: on the real schema (PGlite, and PostgreSQL when DATABASE_URL is set) with the
// simulated processor, whose calls and intents are what "charged once" is counted by.
const engines = [{ name: 'PGlite', url: undefined }, ...(process.env['DATABASE_URL'] ? [{ name: 'PostgreSQL', url: process.env['DATABASE_URL'] }] : [])];

const operator: Caller = { userId: uuidV7Ids.next(), role: 'operator', plan: 'free', token: 't' };
const aRider = (): Caller => ({ userId: uuidV7Ids.next(), role: 'rider', plan: 'free', token: 't' });
const aReference = () => `reservation-extension:${uuidV7Ids.next()}`;

for (const engine of engines) {
  describe(`fee charges on ${engine.name}`, () => {
    const clock = new FakeClock('2026-12-05T09:00:00Z');
    let opened: PaymentTestModule;
    let provider: SimulatedPaymentProvider;
    let module: PaymentModule;

    before(async () => {
      opened = await openPaymentTestModule({ schemaPrefix: 'payment_fees', databaseUrl: engine.url, clock });
      ({ provider, module } = opened);
    });

    after(() => opened.close());

    beforeEach(() => {
      provider.settings = { latencyMs: 0, declineRate: 0, outage: false };
    });

    const service = () => module.service;

    async function riderWithCard(token: string): Promise<Caller> {
      const rider = aRider();
      await service().addPaymentMethod({ cardToken: token }, rider);
      return rider;
    }

    async function assertBalanced() {
      const report = await service().checkLedger(operator);
      assert.equal(report.balanced, true, JSON.stringify(report));
    }

    it('charges a fee once however often and concurrently it is asked: one payment, one capture at the processor, the ledger balanced', async () => {
      const rider = await riderWithCard('tok_visa');
      const reference = aReference();
      const ask = () => service().chargeFee({ riderId: rider.userId, reference, amountCents: 150, description: 'Reservation extended by 10 min' });
      const capturesBefore = provider.calls.capture;
      const [a, b] = await Promise.all([ask(), ask()]);
      const c = await ask();
      assert.equal(a.id, b.id);
      assert.equal(c.id, a.id);
      assert.equal(c.status, 'charged');
      assert.equal(c.attempts, 1);
      const payment = await service().getPaymentByReference({ reference });
      assert.equal(payment.capturedCents, 150);
      assert.equal(c.paymentId, payment.id);
      assert.equal(provider.calls.capture - capturesBefore, 1, 'one capture at the processor');
      assert.equal((await provider.intent(payment.providerIntentId))?.capturedCents, 150);
      await assertBalanced();
    });

    it('a declined fee is listed for operators (rider, amount, reason, attempts); retried once the rider has a working card it is charged once', async () => {
      const rider = await riderWithCard('tok_chargeDeclined');
      const reference = aReference();
      const failed = await service().chargeFee({ riderId: rider.userId, reference, amountCents: 250, description: 'Reservation extended by 10 min' });
      assert.equal(failed.status, 'failed');
      assert.equal(failed.lastError, 'PAYMENT_DECLINED:generic_decline');
      await assert.rejects(service().getPaymentByReference({ reference }), { reason: 'PAYMENT_NOT_FOUND' }, 'nothing held or charged');

      const listed = (await service().listFeeCharges({ limit: 100 }, operator)).items.find((fee) => fee.id === failed.id);
      assert.ok(listed, 'in the failed list');
      assert.deepEqual([listed.riderId, listed.amountCents, listed.attempts, listed.lastError], [rider.userId, 250, 1, 'PAYMENT_DECLINED:generic_decline']);
      await assert.rejects(service().listFeeCharges({ limit: 10 }, rider), { reason: 'STAFF_ONLY' });
      assert.equal((await service().chargeFee({ riderId: rider.userId, reference, amountCents: 250, description: 'x' })).status, 'failed', 'the trip service asking again does not retry it');

      // The same card again: the processor would decline again, and says so under a key of its own.
      const again = await service().retryFeeCharge({ feeChargeId: failed.id }, operator);
      assert.deepEqual([again.status, again.attempts], ['failed', 2]);

      await service().addPaymentMethod({ cardToken: 'tok_visa' }, rider);
      const capturesBefore = provider.calls.capture;
      const [x, y] = await Promise.all([service().retryFeeCharge({ feeChargeId: failed.id }, operator), service().retryFeeCharge({ feeChargeId: failed.id }, operator)]);
      const z = await service().retryFeeCharge({ feeChargeId: failed.id }, operator);
      assert.deepEqual([x.status, y.status, z.status], ['charged', 'charged', 'charged']);
      assert.equal(z.attempts, 3, 'the two racing retries made one attempt');
      assert.equal(provider.calls.capture - capturesBefore, 1, 'charged once at the processor');
      assert.equal((await service().getPaymentByReference({ reference })).capturedCents, 250);
      assert.equal((await service().listFeeCharges({ limit: 100 }, operator)).items.some((fee) => fee.id === failed.id), false, 'off the failed list');
      assert.ok((await service().listFeeCharges({ limit: 100, status: 'charged', riderId: rider.userId }, operator)).items.some((fee) => fee.id === failed.id));
      await assertBalanced();
    });

    it('the processor down past the retries: the fee is failed with the reason, and charged by a retry once it is back', async () => {
      const rider = await riderWithCard('tok_visa');
      provider.settings = { latencyMs: 0, declineRate: 0, outage: true };
      const failed = await service().chargeFee({ riderId: rider.userId, reference: aReference(), amountCents: 150, description: 'Reservation extended by 10 min' });
      assert.equal(failed.status, 'failed');
      assert.match(failed.lastError ?? '', /UNAVAILABLE/);
      provider.settings = { latencyMs: 0, declineRate: 0, outage: false };
      const charged = await service().retryFeeCharge({ feeChargeId: failed.id }, operator);
      assert.equal(charged.status, 'charged');
      await assertBalanced();
    });

    it('a refusal of the moment (the issuer declined once) retried on the same card is asked anew, not answered with the remembered decline', async () => {
      const rider = await riderWithCard('tok_visa');
      provider.settings = { latencyMs: 0, declineRate: 1, outage: false };
      const failed = await service().chargeFee({ riderId: rider.userId, reference: aReference(), amountCents: 150, description: 'Reservation extended by 10 min' });
      assert.equal(failed.lastError, 'PAYMENT_DECLINED:generic_decline');
      provider.settings = { latencyMs: 0, declineRate: 0, outage: false };
      const charged = await service().retryFeeCharge({ feeChargeId: failed.id }, operator);
      assert.deepEqual([charged.status, charged.attempts], ['charged', 2]);
      await assertBalanced();
    });

    it('a fee whose capture waits for the processor stays charging (listed as such, never failed) and is charged when the retry worker captures it', async () => {
      const rider = await riderWithCard('tok_visa');
      const capture = provider.capture.bind(provider);
      // The hold is placed, then the processor goes away for the capture only.
      provider.capture = async () => {
        throw Unavailable('PAYMENT_PROVIDER_UNAVAILABLE', 'processor down');
      };
      let fee;
      try {
        fee = await service().chargeFee({ riderId: rider.userId, reference: aReference(), amountCents: 150, description: 'Reservation extended by 10 min' });
      } finally {
        provider.capture = capture;
      }
      assert.equal(fee.status, 'charging');
      assert.ok(fee.paymentId);
      assert.ok((await service().listFeeCharges({ limit: 100, status: 'charging', riderId: rider.userId }, operator)).items.some((item) => item.id === fee.id));
      assert.equal((await service().listFeeCharges({ limit: 100, riderId: rider.userId }, operator)).items.length, 0, 'not in the failed list');

      clock.advance(60 * 60_000);
      const round = await service().retryDueCaptures();
      assert.ok(round.captured >= 1);
      const after = (await service().listFeeCharges({ limit: 100, status: 'charged', riderId: rider.userId }, operator)).items.find((item) => item.id === fee.id);
      assert.equal(after?.status, 'charged');
      assert.equal((await service().getPaymentByReference({ reference: fee.reference })).capturedCents, 150);
      await assertBalanced();
    });

    it('a waiver: only of a failed fee, with the operator and the reason kept; a waived fee is never charged', async () => {
      const rider = await riderWithCard('tok_insufficientFunds');
      const failed = await service().chargeFee({ riderId: rider.userId, reference: aReference(), amountCents: 150, description: 'Reservation extended by 10 min' });
      await assert.rejects(service().waiveFeeCharge({ feeChargeId: failed.id, reason: 'goodwill' }, rider), { reason: 'STAFF_ONLY' });
      clock.advance(60_000);
      const waived = await service().waiveFeeCharge({ feeChargeId: failed.id, reason: 'car was dirty, goodwill' }, operator);
      assert.equal(waived.status, 'waived');
      assert.deepEqual(waived.waiver, { operatorId: operator.userId, reason: 'car was dirty, goodwill', at: clock.now() });
      assert.deepEqual(await service().waiveFeeCharge({ feeChargeId: failed.id, reason: 'again' }, operator), waived, 'a repeated waiver answers the first');
      await service().addPaymentMethod({ cardToken: 'tok_visa' }, rider);
      await assert.rejects(service().retryFeeCharge({ feeChargeId: failed.id }, operator), { reason: 'FEE_CHARGE_WAIVED' });

      const charged = await service().chargeFee({ riderId: rider.userId, reference: aReference(), amountCents: 150, description: 'x' });
      await assert.rejects(service().waiveFeeCharge({ feeChargeId: charged.id, reason: 'no' }, operator), { reason: 'FEE_CHARGE_NOT_FAILED' });
      await assert.rejects(service().waiveFeeCharge({ feeChargeId: uuidV7Ids.next(), reason: 'no' }, operator), { reason: 'FEE_CHARGE_NOT_FOUND' });
    });

    it('the failed list pages by cursor, newest first, and filters by rider', async () => {
      const rider = await riderWithCard('tok_chargeDeclined');
      const ids: string[] = [];
      for (let index = 0; index < 3; index += 1) ids.push((await service().chargeFee({ riderId: rider.userId, reference: aReference(), amountCents: 100 + index, description: 'x' })).id);
      const first = await service().listFeeCharges({ limit: 2, riderId: rider.userId }, operator);
      assert.deepEqual(first.items.map((fee) => fee.id), [ids[2], ids[1]]);
      assert.ok(first.nextCursor);
      const second = await service().listFeeCharges({ limit: 2, riderId: rider.userId, cursor: first.nextCursor }, operator);
      assert.deepEqual(second.items.map((fee) => fee.id), [ids[0]]);
      assert.equal(second.nextCursor, undefined);
    });
  });
}
