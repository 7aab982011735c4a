import { Type } from 'typebox';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { defineRpcService } from './define-rpc-service.ts';
import { Cursor, PageLimit } from './user.ts';

const strict = { additionalProperties: false } as const;
const Uuid = Type.String({ format: 'uuid' });
const Cents = Type.Integer({ minimum: 1, maximum: 10_000_000, description: 'integer minor units (cents)' });
/** Holds move money: only the trip service asks for them (its signed identity, ADR 0012), never a rider through the gateway. */
const tripOnly = ['trip'] as const;
const IdempotencyKey = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' });

export const PaymentStatus = Type.Union([
  Type.Literal('authorized'),
  Type.Literal('capture_pending'),
  Type.Literal('captured'),
  Type.Literal('voided'),
  Type.Literal('partially_refunded'),
  Type.Literal('refunded'),
]);

export const RefundReason = Type.Union([
  Type.Literal('service_issue'),
  Type.Literal('car_issue'),
  Type.Literal('billing_error'),
  Type.Literal('goodwill'),
  Type.Literal('duplicate'),
  Type.Literal('other'),
]);

export const PaymentMethod = Type.Object({
  id: Uuid,
  brand: Type.String(),
  last4: Type.String(),
  expMonth: Type.Integer(),
  expYear: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const Payment = Type.Object({
  id: Uuid,
  riderId: Uuid,
  reference: Type.String(),
  currency: Type.String(),
  status: PaymentStatus,
  authorizedCents: Type.Integer(),
  capturedCents: Type.Integer(),
  refundedCents: Type.Integer(),
  /** Set while a capture waits for the retry worker. */
  captureCents: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const Refund = Type.Object({
  id: Uuid,
  amountCents: Type.Integer(),
  reason: RefundReason,
  note: Type.Union([Type.String(), Type.Null()]),
  operatorId: Uuid,
  at: Type.String({ format: 'date-time' }),
});

export const PaymentWithRefunds = Type.Object({ payment: Payment, refunds: Type.Array(Refund) });
export const PaymentPage = Type.Object({ items: Type.Array(Payment), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const PaymentMethodPage = Type.Object({ items: Type.Array(PaymentMethod), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const LedgerReport = Type.Object({
  balanced: Type.Boolean(),
  movements: Type.Integer(),
  totalCents: Type.Integer(),
  unbalancedMovementIds: Type.Array(Type.String()),
  mismatchedPaymentIds: Type.Array(Type.String()),
});

export const FeeChargeStatus = Type.Union([Type.Literal('charging'), Type.Literal('charged'), Type.Literal('failed'), Type.Literal('waived')]);

/** A fee charged on its own (a reservation's extension fee no trip carries): failed ones wait for an operator. */
export const FeeCharge = Type.Object({
  id: Uuid,
  /** What it is for, e.g. `reservation-extension:<reservation id>`; also its payment's reference. */
  reference: Type.String(),
  riderId: Uuid,
  amountCents: Type.Integer(),
  currency: Type.String(),
  description: Type.String(),
  status: FeeChargeStatus,
  /** Attempts made so far (the first, and each operator retry). */
  attempts: Type.Integer({ minimum: 1 }),
  /** Why the last attempt failed: the processor's reason (and decline code). */
  lastError: Type.Union([Type.String(), Type.Null()]),
  paymentId: Type.Union([Uuid, Type.Null()]),
  /** Who gave the fee up, why and when: set once waived. */
  waiver: Type.Union([Type.Object({ operatorId: Uuid, reason: Type.String(), at: Type.String({ format: 'date-time' }) }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export const FeeChargePage = Type.Object({ items: Type.Array(FeeCharge), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const FeeWaiverReason = Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' });

/** The payment service: holds on riders' cards, captures, refunds and the ledger behind them. */
export const paymentRpc = defineRpcService('payment', {
  AddPaymentMethod: {
    summary: "Save a card (a processor's card token, never a card number) for the caller",
    input: Type.Object({ cardToken: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_]+$' }) }, strict),
    output: PaymentMethod,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'CARD_REFUSED', 'PAYMENT_PROVIDER_UNAVAILABLE'],
  },
  ListPaymentMethods: {
    summary: "The caller's saved cards, newest first",
    input: Type.Object({ limit: PageLimit, cursor: Type.Optional(Cursor) }, strict),
    output: PaymentMethodPage,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'INVALID_CURSOR'],
  },
  RemovePaymentMethod: {
    summary: "Forget one of the caller's cards",
    input: Type.Object({ paymentMethodId: Uuid }, strict),
    output: Type.Object({}),
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'PAYMENT_METHOD_NOT_FOUND'],
  },
  Authorize: {
    summary: "Place a hold on the rider's newest card for `reference` (e.g. a trip); repeated with the same reference it answers the same payment",
    input: Type.Object({ riderId: Uuid, reference: Type.String({ minLength: 1, maxLength: 100 }), amountCents: Cents }, strict),
    output: Payment,
    callers: tripOnly,
    idempotent: true,
    errors: ['NO_PAYMENT_METHOD', 'PAYMENT_DECLINED', 'PAYMENT_REFERENCE_REUSED', 'PAYMENT_PROVIDER_UNAVAILABLE'],
  },
  Capture: {
    summary: 'Charge the final amount: part of the hold, all of it, or the hold plus an extra charge; a provider outage leaves it capture_pending for the retry worker',
    input: Type.Object({ paymentId: Uuid, amountCents: Cents }, strict),
    output: Payment,
    callers: tripOnly,
    idempotent: true,
    errors: ['PAYMENT_NOT_FOUND', 'PAYMENT_STATE_CONFLICT', 'CAPTURE_AMOUNT_CHANGED'],
  },
  Void: {
    summary: 'Release the hold (a trip that did not start); voiding a voided payment answers it again',
    input: Type.Object({ paymentId: Uuid }, strict),
    output: Payment,
    callers: tripOnly,
    idempotent: true,
    errors: ['PAYMENT_NOT_FOUND', 'PAYMENT_STATE_CONFLICT', 'PAYMENT_PROVIDER_UNAVAILABLE'],
  },
  Refund: {
    summary: 'Operators: give back part or all of a captured payment, with a reason; audited',
    input: Type.Object(
      { paymentId: Uuid, amountCents: Cents, reason: RefundReason, note: Type.Optional(Type.String({ maxLength: 500 })), idempotencyKey: IdempotencyKey },
      strict,
    ),
    output: PaymentWithRefunds,
    idempotent: true,
    errors: ['STAFF_ONLY', 'PAYMENT_NOT_FOUND', 'PAYMENT_STATE_CONFLICT', 'REFUND_EXCEEDS_CAPTURE', 'PAYMENT_PROVIDER_UNAVAILABLE'],
  },
  GetPayment: {
    summary: 'One payment and its refunds: its rider or staff',
    input: Type.Object({ paymentId: Uuid }, strict),
    output: PaymentWithRefunds,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'PAYMENT_NOT_FOUND'],
  },
  GetPaymentByReference: {
    summary: 'The payment for a reference (e.g. a trip): platform callers and staff',
    input: Type.Object({ reference: Type.String({ minLength: 1, maxLength: 100 }) }, strict),
    output: Payment,
    callers: tripOnly,
    idempotent: true,
    errors: ['PAYMENT_NOT_FOUND'],
  },
  ListPayments: {
    summary: "Newest first: a rider's own, or staff's view of everyone's with filters",
    input: Type.Object({ limit: PageLimit, cursor: Type.Optional(Cursor), riderId: Type.Optional(Uuid), status: Type.Optional(PaymentStatus) }, strict),
    output: PaymentPage,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'INVALID_CURSOR'],
  },
  CheckLedger: {
    summary: 'Staff: prove the books balance (every movement sums to zero, every payment agrees with its lines)',
    input: Type.Object({}, strict),
    output: LedgerReport,
    idempotent: true,
    errors: ['STAFF_ONLY'],
  },
  ChargeFee: {
    summary: 'Charge a fee on its own (hold and capture) once per reference; a refusal leaves it failed for an operator',
    input: Type.Object({ riderId: Uuid, reference: Type.String({ minLength: 1, maxLength: 100 }), amountCents: Cents, description: Type.String({ minLength: 1, maxLength: 200 }) }, strict),
    output: FeeCharge,
    callers: tripOnly,
    idempotent: true,
    errors: ['PAYMENT_REFERENCE_REUSED'],
  },
  ListFeeCharges: {
    summary: 'Staff: fees charged on their own by status (default failed), newest first, optionally one rider’s',
    input: Type.Object({ limit: PageLimit, cursor: Type.Optional(Cursor), status: Type.Optional(FeeChargeStatus), riderId: Type.Optional(Uuid) }, strict),
    output: FeeChargePage,
    idempotent: true,
    errors: ['STAFF_ONLY', 'INVALID_CURSOR'],
  },
  RetryFeeCharge: {
    summary: 'Staff: another attempt at a failed fee; a charged fee answers as it is (charged once)',
    input: Type.Object({ feeChargeId: Uuid }, strict),
    output: FeeCharge,
    idempotent: true,
    errors: ['STAFF_ONLY', 'FEE_CHARGE_NOT_FOUND', 'FEE_CHARGE_WAIVED'],
  },
  WaiveFeeCharge: {
    summary: 'Staff: give up a failed fee with a reason; who, why and when are kept (audited)',
    input: Type.Object({ feeChargeId: Uuid, reason: FeeWaiverReason }, strict),
    output: FeeCharge,
    idempotent: true,
    errors: ['STAFF_ONLY', 'FEE_CHARGE_NOT_FOUND', 'FEE_CHARGE_NOT_FAILED'],
  },
  ...deadLetterRpcMethods,
});
