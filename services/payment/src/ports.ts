import type { Clock, IdGenerator } from '@carshare/platform';
import type { EventEnvelope } from '@carshare/contracts';
import type { Movement } from './domain/ledger.ts';
import type { FeeCharge, FeeChargeStatus } from './domain/fee-charge.ts';
import type { Payment, PaymentStatus, RefundReason } from './domain/payment.ts';

/** A card as the processor describes it; the token is the processor's, never a card number. */
export interface CardDetails {
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

export interface PaymentMethod extends CardDetails {
  id: string;
  riderId: string;
  providerToken: string;
  createdAt: number;
}

/**
 * A card processor with manual-capture payment intents (the shape Stripe, Adyen and Braintree
 * share). Every mutating call takes an idempotency key: the processor answers a repeated key with
 * its first answer, which is what makes retries after a timeout safe. A refused card throws
 * FAILED_PRECONDITION `PAYMENT_DECLINED` (with `declineCode`); an outage throws UNAVAILABLE.
 */
export interface PaymentProvider {
  describeCard(token: string): Promise<CardDetails>;
  authorize(request: { cardToken: string; amountCents: number; currency: string; reference: string; idempotencyKey: string }): Promise<{ intentId: string }>;
  /** Captures at most the authorised amount. */
  capture(request: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<void>;
  /** An immediate charge, for what a trip cost above its hold. */
  charge(request: { cardToken: string; amountCents: number; currency: string; reference: string; idempotencyKey: string }): Promise<{ intentId: string }>;
  void(request: { intentId: string; idempotencyKey: string }): Promise<void>;
  refund(request: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<{ refundId: string }>;
}

export interface PaymentPage {
  items: Payment[];
  nextCursor?: string;
}

export interface FeeChargePage {
  items: FeeCharge[];
  nextCursor?: string;
}

/** How an attempt of a fee ended: `charging` when its capture waits for the capture retry worker. */
export interface FeeOutcome {
  status: 'charged' | 'failed' | 'charging';
  paymentId?: string | undefined;
  lastError?: string | undefined;
}

/** Fees charged on their own. Each change is guarded by the state it starts from: of two racing, one wins (undefined for the other). */
export interface FeeChargeStore {
  /** The fee of this reference: the one stored, or `fee` stored now. */
  open(fee: FeeCharge): Promise<FeeCharge>;
  find(id: string): Promise<FeeCharge | undefined>;
  findByReference(reference: string): Promise<FeeCharge | undefined>;
  /** A failed fee taken up for its next attempt (`charging`, attempts + 1). */
  claimRetry(id: string, now: number): Promise<FeeCharge | undefined>;
  /** The end of attempt `attempt`, if it is still the fee's current one and still charging. */
  settle(id: string, attempt: number, outcome: FeeOutcome, now: number): Promise<FeeCharge | undefined>;
  /** The capture retry worker finished the payment of a fee. */
  chargedByReference(reference: string, paymentId: string, now: number): Promise<void>;
  /** A failed fee given up, by whom and why. */
  waive(id: string, waiver: { operatorId: string; reason: string }, now: number): Promise<FeeCharge | undefined>;
  list(query: { status?: FeeChargeStatus | undefined; riderId?: string | undefined; limit: number; cursor: string | undefined }): Promise<FeeChargePage>;
}

export interface PaymentMethodPage {
  items: PaymentMethod[];
  nextCursor?: string;
}

export interface RefundRecord {
  id: string;
  paymentId: string;
  amountCents: number;
  reason: RefundReason;
  note: string | undefined;
  operatorId: string;
  providerRefundId: string;
  at: number;
}

export interface LedgerReport {
  movements: number;
  /** Sum of every line ever written: zero when the books balance. */
  totalCents: number;
  unbalancedMovementIds: string[];
  /** Payments whose own lines disagree with their amounts. */
  mismatchedPaymentIds: string[];
}

export interface PaymentStore {
  findById(id: string): Promise<Payment | undefined>;
  findByReference(reference: string): Promise<Payment | undefined>;
  list(query: { riderId?: string | undefined; status?: PaymentStatus | undefined; limit: number; cursor: string | undefined }): Promise<PaymentPage>;
  /** Payments whose capture should be tried again now. */
  dueCaptures(now: number, limit: number): Promise<Payment[]>;
  findMethod(id: string): Promise<PaymentMethod | undefined>;
  listMethods(riderId: string, page: { limit: number; cursor: string | undefined }): Promise<PaymentMethodPage>;
  refundsOf(paymentId: string): Promise<RefundRecord[]>;
  checkLedger(): Promise<LedgerReport>;
}

/** The writes of one use case, in one transaction with the outbox rows of its events. */
export interface PaymentTransaction {
  /** Locks the row for the rest of the transaction, so two captures of one payment queue up. */
  lockById(id: string): Promise<Payment | undefined>;
  insert(payment: Payment): Promise<void>;
  /** Writes the payment if its version is still `expectedVersion`; false when someone else changed it. */
  update(payment: Payment, expectedVersion: number): Promise<boolean>;
  insertMethod(method: PaymentMethod): Promise<void>;
  deleteMethod(id: string): Promise<void>;
  record(movement: Movement): Promise<void>;
  insertRefund(refund: RefundRecord): Promise<void>;
  publish(event: EventEnvelope): Promise<void>;
}

/** Writes decided before any of them runs: queued by a plan, committed together or not at all. */
export interface PaymentWrites {
  insert(payment: Payment): void;
  /** Only while the payment is at `expectedVersion`: else nothing of the plan is written, and it throws Conflict PAYMENT_CHANGED. */
  update(payment: Payment, expectedVersion: number): void;
  record(movement: Movement): void;
  insertRefund(refund: RefundRecord): void;
  publish(event: EventEnvelope): void;
}

export interface UnitOfWork {
  /** An interactive transaction: for work that must read under a lock before it decides. */
  run<T>(work: (tx: PaymentTransaction) => Promise<T>): Promise<T>;
  /**
   * Writes decided beforehand, sent at once (ServiceDatabase.batch): on the embedded database it
   * holds the one session only to send them, where `run` holds it for a round trip per statement.
   */
  write(plan: (writes: PaymentWrites) => void): Promise<void>;
}

export interface PaymentPorts {
  payments: PaymentStore;
  fees: FeeChargeStore;
  unitOfWork: UnitOfWork;
  provider: PaymentProvider;
  clock: Clock;
  ids: IdGenerator;
  currency: string;
  /** Backoff before the n-th capture retry (1-based). */
  captureRetryDelayMs(attempt: number): number;
}
