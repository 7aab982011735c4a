import { Conflict, InvalidArgument } from '@carshare/platform';

/**
 * A payment is one manual-capture card payment: a hold (authorisation) placed when a trip starts,
 * captured for the trip's price when it ends, or voided when the start fails. A declined hold is
 * not a payment: nothing was held, so only the `payment.failed` event records it.
 *
 * `capture_pending` is the state between deciding to capture and the processor confirming it: the
 * amount and the idempotency key are written first, so a crash or an outage between the two is
 * finished by the retry worker with the same key, never charged twice.
 */
export const paymentStatuses = ['authorized', 'capture_pending', 'captured', 'voided', 'partially_refunded', 'refunded'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

const transitions: Record<PaymentStatus, readonly PaymentStatus[]> = {
  authorized: ['capture_pending', 'voided'],
  capture_pending: ['captured'],
  captured: ['partially_refunded', 'refunded'],
  partially_refunded: ['partially_refunded', 'refunded'],
  voided: [],
  refunded: [],
};

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return transitions[from].includes(to);
}

export interface Payment {
  id: string;
  riderId: string;
  /** What the money is for, e.g. the trip id: one payment per reference. */
  reference: string;
  currency: string;
  paymentMethodId: string;
  status: PaymentStatus;
  authorizedCents: number;
  /** What the capture was asked for; set when capture starts, so a retry captures the same amount. */
  captureCents: number | undefined;
  capturedCents: number;
  refundedCents: number;
  /** The processor's id of the hold. */
  providerIntentId: string;
  /** The processor's id of the extra charge when the capture exceeded the hold. */
  providerExtraChargeId: string | undefined;
  /** Idempotency key of the capture, reused by every retry of it. */
  captureKey: string | undefined;
  captureAttempts: number;
  /** Epoch ms; when the retry worker may try the capture again. */
  nextCaptureAttemptAt: number | undefined;
  lastError: string | undefined;
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** Integer minor units only: fractions of a cent and unsafe integers never reach a processor. */
export const maxAmountCents = 10_000_000;

export function assertAmount(amountCents: number, field = 'amountCents'): void {
  if (!Number.isSafeInteger(amountCents) || amountCents <= 0 || amountCents > maxAmountCents) {
    throw InvalidArgument('INVALID_AMOUNT', `${field} must be a whole number of cents between 1 and ${maxAmountCents}`, { [field]: amountCents });
  }
}

export function requireTransition(payment: Payment, to: PaymentStatus): void {
  if (!canTransition(payment.status, to)) {
    throw Conflict('PAYMENT_STATE_CONFLICT', `a ${payment.status} payment cannot become ${to}`, { paymentId: payment.id, status: payment.status, wanted: to });
  }
}

/** Another writer changed the payment after this one read it: the write at the read version found nothing. */
export function paymentChanged(paymentId: string): Error {
  return Conflict('PAYMENT_CHANGED', 'the payment changed while this request ran; try again', { paymentId });
}

/** How much of a capture comes from the hold and how much is an extra charge above it. */
export function splitCapture(authorizedCents: number, captureCents: number): { fromHoldCents: number; extraCents: number } {
  const fromHoldCents = Math.min(authorizedCents, captureCents);
  return { fromHoldCents, extraCents: captureCents - fromHoldCents };
}

/** What may still be refunded: never more than was captured. */
export function refundableCents(payment: Payment): number {
  return payment.capturedCents - payment.refundedCents;
}

export function statusAfterRefund(payment: Payment, refundCents: number): PaymentStatus {
  return payment.refundedCents + refundCents === payment.capturedCents ? 'refunded' : 'partially_refunded';
}

export const refundReasons = ['service_issue', 'car_issue', 'billing_error', 'goodwill', 'duplicate', 'other'] as const;
export type RefundReason = (typeof refundReasons)[number];
