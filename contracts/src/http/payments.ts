import { Type } from 'typebox';
import { FeeCharge, FeeChargePage, FeeChargeStatus, FeeWaiverReason, LedgerReport, PaymentMethod, PaymentMethodPage, PaymentPage, PaymentStatus, PaymentWithRefunds, RefundReason } from '../rpc/payment.ts';
import { Cursor, PageLimit } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;
const Uuid = Type.String({ format: 'uuid' });
const PageQuery = { limit: PageLimit, cursor: Type.Optional(Cursor) };
const IdParams = Type.Object({ id: Uuid }, strict);

/** A rider's cards and payments. */
export const paymentRoutes = {
  listMethods: defineHttpRoute({
    method: 'GET',
    url: '/v1/payment-methods',
    summary: 'My saved cards, newest first (the newest pays for trips)',
    tags: ['payments'],
    access: 'user',
    querystring: Type.Object(PageQuery, strict),
    successStatus: 200,
    response: PaymentMethodPage,
  }),
  addMethod: defineHttpRoute({
    method: 'POST',
    url: '/v1/payment-methods',
    summary: "Save a card from the processor's card token (never a card number)",
    tags: ['payments'],
    access: 'user',
    body: Type.Object({ cardToken: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_]+$' }) }, strict),
    successStatus: 201,
    response: PaymentMethod,
  }),
  removeMethod: defineHttpRoute({
    method: 'DELETE',
    url: '/v1/payment-methods/:id',
    summary: 'Forget one of my cards',
    tags: ['payments'],
    access: 'user',
    params: IdParams,
    successStatus: 204,
    response: Type.Null(),
  }),
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/payments',
    summary: 'My payments, newest first',
    tags: ['payments'],
    access: 'user',
    querystring: Type.Object({ ...PageQuery, status: Type.Optional(PaymentStatus) }, strict),
    successStatus: 200,
    response: PaymentPage,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/payments/:id',
    summary: 'One of my payments with its refunds',
    tags: ['payments'],
    access: 'user',
    params: IdParams,
    successStatus: 200,
    response: PaymentWithRefunds,
  }),
};

/** Operators: every payment, refunds and the books. */
export const adminPaymentRoutes = {
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/payments',
    summary: 'Page through payments, newest first, by rider and status',
    tags: ['admin'],
    access: 'operator',
    querystring: Type.Object({ ...PageQuery, riderId: Type.Optional(Uuid), status: Type.Optional(PaymentStatus) }, strict),
    successStatus: 200,
    response: PaymentPage,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/payments/:id',
    summary: 'One payment with its refunds',
    tags: ['admin'],
    access: 'operator',
    params: IdParams,
    successStatus: 200,
    response: PaymentWithRefunds,
  }),
  refund: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/payments/:id/refund',
    summary: 'Give back part or all of a captured payment, with a reason (audited)',
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'required',
    params: IdParams,
    body: Type.Object({ amountCents: Type.Integer({ minimum: 1, maximum: 10_000_000 }), reason: RefundReason, note: Type.Optional(Type.String({ maxLength: 500 })) }, strict),
    successStatus: 200,
    response: PaymentWithRefunds,
  }),
  listFeeCharges: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/fee-charges',
    summary: 'Fees charged on their own (reservation extensions) by status, the failed ones by default, newest first: rider, amount, reason, attempts',
    tags: ['admin'],
    access: 'operator',
    querystring: Type.Object({ ...PageQuery, status: Type.Optional(FeeChargeStatus), riderId: Type.Optional(Uuid) }, strict),
    successStatus: 200,
    response: FeeChargePage,
  }),
  retryFeeCharge: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/fee-charges/:id/retry',
    summary: 'Try a failed fee again (e.g. the rider saved a working card); a charged fee answers as it is',
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'required',
    params: IdParams,
    successStatus: 200,
    response: FeeCharge,
  }),
  waiveFeeCharge: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/fee-charges/:id/waive',
    summary: 'Give up a failed fee, with a reason (audited: who, why, when)',
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'required',
    params: IdParams,
    body: Type.Object({ reason: FeeWaiverReason }, strict),
    successStatus: 200,
    response: FeeCharge,
  }),
  checkLedger: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/ledger/check',
    summary: 'Prove the books balance: every movement sums to zero and every payment agrees with its lines',
    tags: ['admin'],
    access: 'operator',
    successStatus: 200,
    response: LedgerReport,
  }),
};

