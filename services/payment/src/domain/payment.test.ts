import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accounts, authorizeMovement, captureMovement, expectedBalances, isBalanced, refundMovement, voidMovement } from './ledger.ts';
import { assertAmount, canTransition, paymentStatuses, splitCapture, statusAfterRefund, type Payment, type PaymentStatus } from './payment.ts';

const allowed: ReadonlyArray<[PaymentStatus, PaymentStatus]> = [
  ['authorized', 'capture_pending'],
  ['authorized', 'voided'],
  ['capture_pending', 'captured'],
  ['captured', 'partially_refunded'],
  ['captured', 'refunded'],
  ['partially_refunded', 'partially_refunded'],
  ['partially_refunded', 'refunded'],
];

describe('the payment state machine', () => {
  for (const from of paymentStatuses) {
    for (const to of paymentStatuses) {
      const expected = allowed.some(([a, b]) => a === from && b === to);
      it(`${expected ? 'allows' : 'forbids'} ${from} → ${to}`, () => {
        assert.equal(canTransition(from, to), expected);
      });
    }
  }
});

describe('amounts', () => {
  it('takes whole positive cents within the limit', () => {
    assertAmount(1);
    assertAmount(10_000_000);
  });

  for (const bad of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 10_000_001, 2 ** 60]) {
    it(`refuses ${bad}`, () => {
      assert.throws(() => assertAmount(bad), { reason: 'INVALID_AMOUNT' });
    });
  }

  it('splits a capture into the part from the hold and an extra charge', () => {
    assert.deepEqual(splitCapture(5000, 3200), { fromHoldCents: 3200, extraCents: 0 });
    assert.deepEqual(splitCapture(5000, 5000), { fromHoldCents: 5000, extraCents: 0 });
    assert.deepEqual(splitCapture(5000, 7350), { fromHoldCents: 5000, extraCents: 2350 });
  });

  it('ends refunded only when everything captured went back', () => {
    const payment = { capturedCents: 1000, refundedCents: 300 } as Payment;
    assert.equal(statusAfterRefund(payment, 200), 'partially_refunded');
    assert.equal(statusAfterRefund(payment, 700), 'refunded');
  });
});

describe('the ledger', () => {
  const base = { id: 'm', paymentId: 'p', riderId: 'r', currency: 'EUR', at: 0 };

  it('balances every kind of movement', () => {
    for (const movement of [authorizeMovement(base, 5000), voidMovement(base, 5000), captureMovement(base, 5000, 3200), captureMovement(base, 5000, 7350), refundMovement(base, 900)]) {
      assert.ok(isBalanced(movement), `${movement.kind} does not balance`);
    }
  });

  it('leaves nothing on hold and the price in revenue after authorise then capture above the hold', () => {
    const lines = [...authorizeMovement(base, 5000).lines, ...captureMovement(base, 5000, 7350).lines];
    const sum = (account: string) => lines.filter((line) => line.account === account).reduce((total, line) => total + line.amountCents, 0);
    assert.equal(sum(accounts.depositsHeld), 0);
    assert.equal(sum(accounts.revenue), 7350);
    assert.equal(sum(accounts.rider('r')), -7350);
  });

  it('expects the hold on the books only while the payment holds it', () => {
    assert.deepEqual(expectedBalances({ status: 'authorized', authorizedCents: 5000, capturedCents: 0, refundedCents: 0 }), { depositsHeld: 5000, revenue: 0, refunds: 0 });
    assert.deepEqual(expectedBalances({ status: 'partially_refunded', authorizedCents: 5000, capturedCents: 4000, refundedCents: 500 }), {
      depositsHeld: 0,
      revenue: 4000,
      refunds: -500,
    });
  });
});
