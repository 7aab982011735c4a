import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { EventEnvelope } from '@carshare/contracts';
import { ServiceIdentitySigner, laptopServiceKeys, serviceIdentityHeader, type Caller } from '@carshare/platform';
import type { TestDatabase } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import type { Kysely } from 'kysely';
import type { PaymentDatabase } from './adapters/payment-database.ts';
import type { SimulatedPaymentProvider } from './adapters/simulated-payment-provider.ts';
import type { PaymentModule } from './module.ts';
import { openPaymentTestModule, type PaymentTestModule } from './testing/open-payment-test-module.ts';

// Money is where SQL matters (row locks, unique references, the ledger's sums), so the use cases
// run on the real schema: PGlite always, PostgreSQL too when DATABASE_URL is set.
const engines = [{ name: 'PGlite', url: undefined }, ...(process.env['DATABASE_URL'] ? [{ name: 'PostgreSQL', url: process.env['DATABASE_URL'] }] : [])];

const riderA: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8057', role: 'rider', plan: 'free', token: 't' };
const riderB: Caller = { ...riderA, userId: '01890a5d-ac96-774b-bcce-b302099a8058' };
const operator: Caller = { ...riderA, userId: '01890a5d-ac96-774b-bcce-b302099a8059', role: 'operator' };

let nextReference = 0;
function aReference(): string {
  nextReference += 1;
  return `trip-${process.pid}-${nextReference}`;
}

for (const engine of engines) {
  describe(`payment service on ${engine.name}`, () => {
    const clock = new FakeClock('2026-05-01T09:00:00Z');
    let opened: PaymentTestModule;
    let database: TestDatabase;
    let provider: SimulatedPaymentProvider;
    let module: PaymentModule;
    let published: EventEnvelope[];

    before(async () => {
      opened = await openPaymentTestModule({ schemaPrefix: 'payment_test', databaseUrl: engine.url, clock });
      ({ database, provider, module, published } = opened);
      await module.service.addPaymentMethod({ cardToken: 'tok_visa' }, riderA);
    });

    after(() => opened.close());

    beforeEach(() => {
      provider.settings = { latencyMs: 0, declineRate: 0, outage: false };
    });

    const service = () => module.service;

    async function ledgerBalances() {
      const report = await service().checkLedger(operator);
      assert.equal(report.balanced, true, JSON.stringify(report));
      return report;
    }

    it('saves a card from a processor token and shows it to its owner only, without the token', async () => {
      const method = await service().addPaymentMethod({ cardToken: 'tok_mastercard' }, riderB);
      assert.equal(method.last4, '4444');
      const mine = await service().listPaymentMethods({ limit: 10 }, riderB);
      assert.deepEqual(mine.items.map((item) => item.id), [method.id]);
      await assert.rejects(service().removePaymentMethod({ paymentMethodId: method.id }, riderA), { reason: 'PAYMENT_METHOD_NOT_FOUND' });
      await assert.rejects(service().addPaymentMethod({ cardToken: 'tok_made_up' }, riderB), { reason: 'CARD_REFUSED' });
    });

    it('authorises, captures less than the hold, and books it so the ledger balances', async () => {
      const reference = aReference();
      const held = await service().authorize({ riderId: riderA.userId, reference, amountCents: 5_000 });
      assert.equal(held.status, 'authorized');
      const captured = await service().capture({ paymentId: held.id, amountCents: 3_210 });
      assert.deepEqual([captured.status, captured.capturedCents], ['captured', 3_210]);
      assert.equal((await provider.intent(held.providerIntentId))?.capturedCents, 3_210);
      await ledgerBalances();
    });

    it('captures above the hold as the hold plus one extra charge', async () => {
      const held = await service().authorize({ riderId: riderA.userId, reference: aReference(), amountCents: 5_000 });
      const chargesBefore = provider.calls.charge;
      const captured = await service().capture({ paymentId: held.id, amountCents: 7_350 });
      assert.deepEqual([captured.status, captured.capturedCents], ['captured', 7_350]);
      assert.equal(provider.calls.charge, chargesBefore + 1);
      await ledgerBalances();
    });

    it('answers a repeated Authorize for one reference with the same payment and one hold', async () => {
      const reference = aReference();
      const before = provider.calls.authorize;
      const [first, second] = await Promise.all([
        service().authorize({ riderId: riderA.userId, reference, amountCents: 2_000 }),
        service().authorize({ riderId: riderA.userId, reference, amountCents: 2_000 }),
      ]);
      assert.equal(first.id, second.id);
      const again = await service().authorize({ riderId: riderA.userId, reference, amountCents: 2_000 });
      assert.equal(again.id, first.id);
      assert.equal((await provider.openHolds()).filter((hold) => hold.amountCents === 2_000 && hold.id === first.providerIntentId).length, 1);
      assert.ok(provider.calls.authorize - before <= 2, 'the processor saw at most the two racing requests, under one key');
      await assert.rejects(service().authorize({ riderId: riderA.userId, reference, amountCents: 2_500 }), { reason: 'PAYMENT_REFERENCE_REUSED' });
    });

    it('charges once when the same capture is sent twice, sequentially and at once', async () => {
      const held = await service().authorize({ riderId: riderA.userId, reference: aReference(), amountCents: 4_000 });
      const captures = provider.calls.capture;
      const results = await Promise.all([
        service().capture({ paymentId: held.id, amountCents: 3_000 }),
        service().capture({ paymentId: held.id, amountCents: 3_000 }),
      ]);
      const third = await service().capture({ paymentId: held.id, amountCents: 3_000 });
      assert.deepEqual([...results, third].map((payment) => payment.status), ['captured', 'captured', 'captured']);
      assert.equal((await provider.intent(held.providerIntentId))?.capturedCents, 3_000);
      assert.equal(provider.calls.capture - captures, 1, 'one capture reached the processor');
      const db = database.database.db as unknown as Kysely<PaymentDatabase>;
      const captureLines = await db.selectFrom('ledger_entries').select('movement_id').distinct().where('payment_id', '=', held.id).where('kind', '=', 'capture').execute();
      assert.equal(captureLines.length, 1, 'one capture booked');
      await assert.rejects(service().capture({ paymentId: held.id, amountCents: 3_100 }), { reason: 'CAPTURE_AMOUNT_CHANGED' });
      await ledgerBalances();
    });

    it('leaves a capture pending through a processor outage, and the worker finishes it once with the same key', async () => {
      const held = await service().authorize({ riderId: riderA.userId, reference: aReference(), amountCents: 6_000 });
      provider.settings.outage = true;
      const pending = await service().capture({ paymentId: held.id, amountCents: 4_500 });
      assert.equal(pending.status, 'capture_pending');
      assert.equal(pending.lastError, 'PAYMENT_PROVIDER_UNAVAILABLE');
      assert.equal((await service().retryDueCaptures()).captured, 0, 'not due before its backoff');
      provider.settings.outage = false;
      clock.advance(60 * 60_000);
      const round = await service().retryDueCaptures();
      assert.ok(round.captured >= 1);
      const { payment } = await service().getPayment({ paymentId: held.id }, operator);
      assert.deepEqual([payment.status, payment.capturedCents], ['captured', 4_500]);
      assert.equal((await provider.intent(held.providerIntentId))?.capturedCents, 4_500);
      assert.ok(published.some((event) => event.type === 'payment.failed' && event.subject === held.id) || (await module.messaging.relay.pending()) > 0);
      await ledgerBalances();
    });

    it('voids a hold once, and a voided payment cannot be captured', async () => {
      const held = await service().authorize({ riderId: riderA.userId, reference: aReference(), amountCents: 3_000 });
      const voided = await service().void({ paymentId: held.id });
      assert.equal(voided.status, 'voided');
      assert.equal((await service().void({ paymentId: held.id })).status, 'voided');
      assert.equal((await provider.intent(held.providerIntentId))?.status, 'canceled');
      await assert.rejects(service().capture({ paymentId: held.id, amountCents: 1_000 }), { reason: 'PAYMENT_STATE_CONFLICT' });
      await ledgerBalances();
    });

    it('declines a hold on a declining card, records no payment and publishes payment.failed', async () => {
      await service().addPaymentMethod({ cardToken: 'tok_insufficientFunds' }, riderB);
      const reference = aReference();
      await assert.rejects(service().authorize({ riderId: riderB.userId, reference, amountCents: 1_000 }), { reason: 'PAYMENT_DECLINED' });
      await assert.rejects(service().getPaymentByReference({ reference }), { reason: 'PAYMENT_NOT_FOUND' });
      await module.messaging.relay.relayOnce();
      assert.ok(published.some((event) => event.type === 'payment.failed' && (event.data as { reference: string }).reference === reference));
    });

    it('refunds in parts up to what was captured, audited with the operator and reason, once per key', async () => {
      const held = await service().authorize({ riderId: riderA.userId, reference: aReference(), amountCents: 5_000 });
      await service().capture({ paymentId: held.id, amountCents: 4_000 });
      const first = await service().refund({ paymentId: held.id, amountCents: 1_000, reason: 'car_issue', note: 'dirty car', idempotencyKey: 'k1' }, operator);
      assert.equal(first.payment.status, 'partially_refunded');
      const [again, racing] = await Promise.all([
        service().refund({ paymentId: held.id, amountCents: 1_000, reason: 'car_issue', idempotencyKey: 'k1' }, operator),
        service().refund({ paymentId: held.id, amountCents: 1_000, reason: 'car_issue', idempotencyKey: 'k1' }, operator),
      ]);
      assert.equal(again.refunds.length, 1);
      assert.equal(racing.refunds.length, 1);
      assert.deepEqual([first.refunds[0]?.operatorId, first.refunds[0]?.reason, first.refunds[0]?.note], [operator.userId, 'car_issue', 'dirty car']);
      await assert.rejects(
        service().refund({ paymentId: held.id, amountCents: 3_001, reason: 'goodwill', idempotencyKey: 'k2' }, operator),
        { reason: 'REFUND_EXCEEDS_CAPTURE' },
      );
      const rest = await service().refund({ paymentId: held.id, amountCents: 3_000, reason: 'goodwill', idempotencyKey: 'k3' }, operator);
      assert.deepEqual([rest.payment.status, rest.payment.refundedCents], ['refunded', 4_000]);
      assert.equal((await provider.intent(held.providerIntentId))?.refundedCents, 4_000);
      await assert.rejects(service().refund({ paymentId: held.id, amountCents: 1, reason: 'goodwill', idempotencyKey: 'k4' }, riderA), { reason: 'STAFF_ONLY' });
      await ledgerBalances();
    });

    it('lets only the trip service move money on a hold, and no rider read another rider’s payment', async () => {
      const held = await service().authorize({ riderId: riderA.userId, reference: aReference(), amountCents: 1_500 });
      const callAs = (caller: string, method: string, body: unknown) =>
        module.server.inject({
          method: 'POST',
          url: `/rpc/payment/${method}`,
          headers: { 'content-type': 'application/json', [serviceIdentityHeader]: new ServiceIdentitySigner(caller, laptopServiceKeys()).identityFor('payment', riderA) },
          payload: JSON.stringify(body),
        });
      for (const [method, body] of [
        ['Void', { paymentId: held.id }],
        ['Capture', { paymentId: held.id, amountCents: 1 }],
        ['Authorize', { riderId: riderA.userId, reference: aReference(), amountCents: 1 }],
      ] as const) {
        const refused = await callAs('gateway', method, body);
        assert.equal(refused.statusCode, 403, `${method} through the gateway: ${refused.body}`);
        assert.equal(JSON.parse(refused.body).error.reason ?? JSON.parse(refused.body).error.code, 'CALLER_NOT_ALLOWED');
      }
      assert.equal((await service().getPayment({ paymentId: held.id }, operator)).payment.status, 'authorized');
      const voided = await callAs('trip', 'Void', { paymentId: held.id });
      assert.equal(voided.statusCode, 200, voided.body);
      await assert.rejects(service().getPayment({ paymentId: held.id }, riderB), { reason: 'PAYMENT_NOT_FOUND' });
      assert.equal((await service().getPayment({ paymentId: held.id }, riderA)).payment.id, held.id);
      const theirs = await service().listPayments({ limit: 100, riderId: riderA.userId }, riderB);
      assert.equal(theirs.items.length, 0, 'a rider’s riderId filter is ignored: they see only their own');
    });

    it('finds a ledger that does not balance', async () => {
      const held = await service().authorize({ riderId: riderA.userId, reference: aReference(), amountCents: 900 });
      const db = database.database.db as unknown as Kysely<PaymentDatabase>;
      await db.updateTable('ledger_entries').set({ amount_cents: 901 }).where('payment_id', '=', held.id).where('account', '=', 'deposits_held').execute();
      const report = await service().checkLedger(operator);
      assert.equal(report.balanced, false);
      assert.equal(report.unbalancedMovementIds.length, 1);
      assert.deepEqual(report.mismatchedPaymentIds, [held.id]);
      await db.updateTable('ledger_entries').set({ amount_cents: 900 }).where('payment_id', '=', held.id).where('account', '=', 'deposits_held').execute();
      await ledgerBalances();
    });
  });
}
