/**
 * A fee charged on its own, outside a trip's capture (a reservation's extension fee when no trip
 * carries it). `charging` from the first attempt until the processor answered; `charged` once
 * captured (or handed to the capture retry worker); `failed` when the card or the processor
 * refused it, for an operator to retry or waive (with a reason); `waived` for good.
 */
export const feeChargeStatuses = ['charging', 'charged', 'failed', 'waived'] as const;
export type FeeChargeStatus = (typeof feeChargeStatuses)[number];

export interface FeeCharge {
  id: string;
  /** What the fee is for, e.g. `reservation-extension:<id>`: one charge per reference, and its payment's reference. */
  reference: string;
  riderId: string;
  amountCents: number;
  currency: string;
  description: string;
  status: FeeChargeStatus;
  /** Attempts started; the n-th uses processor keys of its own, so a retry after a decline is asked anew. */
  attempts: number;
  lastError: string | undefined;
  paymentId: string | undefined;
  waiver: { operatorId: string; reason: string; at: number } | undefined;
  createdAt: number;
  updatedAt: number;
}

/** Only a refused charge may be waived: a charged fee is refunded instead, one under way is waited for. */
export function mayWaive(fee: FeeCharge): boolean {
  return fee.status === 'failed';
}

/** A retry asks again for a refused charge, or finishes one left `charging` (a crash, a lost answer) with its own keys. */
export function mayRetry(fee: FeeCharge): boolean {
  return fee.status === 'failed' || fee.status === 'charging';
}
