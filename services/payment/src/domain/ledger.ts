/**
 * Double-entry bookkeeping for every money movement. A movement is a set of lines that sum to
 * zero; a positive amount debits an account, a negative one credits it. Accounts:
 *   rider:<id>      what the rider has paid or has on hold (negative while they have paid)
 *   deposits_held   holds placed on riders' cards and not yet captured or voided
 *   revenue         captured trip revenue
 *   refunds         money given back (a contra-revenue account: net revenue = revenue + refunds)
 * The books balance when every movement sums to zero, and each payment's lines agree with its
 * amounts (see `expectedBalances`): the nightly check proves both.
 */
export type MovementKind = 'authorize' | 'capture' | 'void' | 'refund';

export interface LedgerLine {
  account: string;
  amountCents: number;
}

export interface Movement {
  id: string;
  paymentId: string;
  kind: MovementKind;
  currency: string;
  lines: LedgerLine[];
  at: number;
}

export const accounts = {
  rider: (riderId: string) => `rider:${riderId}`,
  depositsHeld: 'deposits_held',
  revenue: 'revenue',
  refunds: 'refunds',
} as const;

interface MovementBase {
  id: string;
  paymentId: string;
  riderId: string;
  currency: string;
  at: number;
}

function movement(base: MovementBase, kind: MovementKind, lines: LedgerLine[]): Movement {
  return { id: base.id, paymentId: base.paymentId, kind, currency: base.currency, lines, at: base.at };
}

export function authorizeMovement(base: MovementBase, authorizedCents: number): Movement {
  return movement(base, 'authorize', [
    { account: accounts.rider(base.riderId), amountCents: -authorizedCents },
    { account: accounts.depositsHeld, amountCents: authorizedCents },
  ]);
}

export function voidMovement(base: MovementBase, authorizedCents: number): Movement {
  return movement(base, 'void', [
    { account: accounts.depositsHeld, amountCents: -authorizedCents },
    { account: accounts.rider(base.riderId), amountCents: authorizedCents },
  ]);
}

/** Releases the whole hold and charges the captured amount, whether below, at or above the hold. */
export function captureMovement(base: MovementBase, authorizedCents: number, capturedCents: number): Movement {
  return movement(base, 'capture', [
    { account: accounts.depositsHeld, amountCents: -authorizedCents },
    { account: accounts.rider(base.riderId), amountCents: authorizedCents - capturedCents },
    { account: accounts.revenue, amountCents: capturedCents },
  ]);
}

export function refundMovement(base: MovementBase, refundCents: number): Movement {
  return movement(base, 'refund', [
    { account: accounts.refunds, amountCents: -refundCents },
    { account: accounts.rider(base.riderId), amountCents: refundCents },
  ]);
}

export function isBalanced(movement: Movement): boolean {
  return movement.lines.reduce((sum, line) => sum + line.amountCents, 0) === 0;
}

/** What a payment's own lines must add up to, per account kind, given its amounts and state. */
export function expectedBalances(payment: {
  status: string;
  authorizedCents: number;
  capturedCents: number;
  refundedCents: number;
}): { depositsHeld: number; revenue: number; refunds: number } {
  const holding = payment.status === 'authorized' || payment.status === 'capture_pending';
  return {
    depositsHeld: holding ? payment.authorizedCents : 0,
    revenue: payment.capturedCents,
    refunds: 0 - payment.refundedCents,
  };
}
