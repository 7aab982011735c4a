import type { deadLetterRpcMethods, paymentRpc } from '@carshare/contracts';
import type { RpcHandlers } from '@carshare/platform';
import type { FeeCharge } from '../domain/fee-charge.ts';
import type { Payment } from '../domain/payment.ts';
import type { PaymentService } from '../payment-service.ts';
import type { PaymentMethod, RefundRecord } from '../ports.ts';

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function toWirePayment(payment: Payment) {
  return {
    id: payment.id,
    riderId: payment.riderId,
    reference: payment.reference,
    currency: payment.currency,
    status: payment.status,
    authorizedCents: payment.authorizedCents,
    capturedCents: payment.capturedCents,
    refundedCents: payment.refundedCents,
    captureCents: payment.captureCents ?? null,
    lastError: payment.lastError ?? null,
    createdAt: iso(payment.createdAt),
    updatedAt: iso(payment.updatedAt),
  };
}

/** The card as its owner sees it: never the processor's token. */
function toWireMethod(method: PaymentMethod) {
  return { id: method.id, brand: method.brand, last4: method.last4, expMonth: method.expMonth, expYear: method.expYear, createdAt: iso(method.createdAt) };
}

function toWireRefund(refund: RefundRecord) {
  return { id: refund.id, amountCents: refund.amountCents, reason: refund.reason, note: refund.note ?? null, operatorId: refund.operatorId, at: iso(refund.at) };
}

function toWireFee(fee: FeeCharge) {
  return {
    id: fee.id,
    reference: fee.reference,
    riderId: fee.riderId,
    amountCents: fee.amountCents,
    currency: fee.currency,
    description: fee.description,
    status: fee.status,
    attempts: fee.attempts,
    lastError: fee.lastError ?? null,
    paymentId: fee.paymentId ?? null,
    waiver: fee.waiver ? { operatorId: fee.waiver.operatorId, reason: fee.waiver.reason, at: iso(fee.waiver.at) } : null,
    createdAt: iso(fee.createdAt),
    updatedAt: iso(fee.updatedAt),
  };
}

function withRefunds(result: { payment: Payment; refunds: RefundRecord[] }) {
  return { payment: toWirePayment(result.payment), refunds: result.refunds.map(toWireRefund) };
}

/** The dead-letter methods are the messaging library's, served beside these. */
type PaymentMethods = Omit<typeof paymentRpc.methods, keyof typeof deadLetterRpcMethods>;

/** Parse → one use case → map; validation and errors are the RPC server's. */
export function paymentRpcHandlers(service: PaymentService): RpcHandlers<PaymentMethods> {
  return {
    AddPaymentMethod: async (input, ctx) => toWireMethod(await service.addPaymentMethod(input, ctx.caller)),
    ListPaymentMethods: async (input, ctx) => {
      const page = await service.listPaymentMethods(input, ctx.caller);
      return { items: page.items.map(toWireMethod), nextCursor: page.nextCursor ?? null };
    },
    RemovePaymentMethod: async (input, ctx) => {
      await service.removePaymentMethod(input, ctx.caller);
      return {};
    },
    Authorize: async (input) => toWirePayment(await service.authorize(input)),
    Capture: async (input) => toWirePayment(await service.capture(input)),
    Void: async (input) => toWirePayment(await service.void(input)),
    Refund: async (input, ctx) => withRefunds(await service.refund(input, ctx.caller)),
    GetPayment: async (input, ctx) => withRefunds(await service.getPayment(input, ctx.caller)),
    GetPaymentByReference: async (input) => toWirePayment(await service.getPaymentByReference(input)),
    ListPayments: async (input, ctx) => {
      const page = await service.listPayments(input, ctx.caller);
      return { items: page.items.map(toWirePayment), nextCursor: page.nextCursor ?? null };
    },
    CheckLedger: async (_input, ctx) => service.checkLedger(ctx.caller),
    ChargeFee: async (input) => toWireFee(await service.chargeFee(input)),
    ListFeeCharges: async (input, ctx) => {
      const page = await service.listFeeCharges(input, ctx.caller);
      return { items: page.items.map(toWireFee), nextCursor: page.nextCursor ?? null };
    },
    RetryFeeCharge: async (input, ctx) => toWireFee(await service.retryFeeCharge(input, ctx.caller)),
    WaiveFeeCharge: async (input, ctx) => toWireFee(await service.waiveFeeCharge(input, ctx.caller)),
  };
}
