import { Type } from 'typebox';
import { defineEvent } from './envelope.ts';

// Subjects of payment events are the payment id; `reference` names what was paid (the trip).

const Uuid = Type.String({ format: 'uuid' });
const Cents = Type.Integer({ minimum: 0 });
const Currency = Type.String({ pattern: '^[A-Z]{3}$' });
const base = { paymentId: Uuid, riderId: Uuid, reference: Type.String({ minLength: 1, maxLength: 100 }), currency: Currency };

export const PaymentAuthorized = defineEvent('payment.authorized', 1, Type.Object({ ...base, amountCents: Cents }));
export const PaymentCaptured = defineEvent('payment.captured', 1, Type.Object({ ...base, amountCents: Cents, authorizedCents: Cents }));
export const PaymentVoided = defineEvent('payment.voided', 1, Type.Object({ ...base, amountCents: Cents }));
export const PaymentRefunded = defineEvent(
  'payment.refunded',
  1,
  Type.Object({ ...base, amountCents: Cents, totalRefundedCents: Cents, reason: Type.String({ maxLength: 40 }), operatorId: Uuid }),
);
/** A hold was declined, or a capture failed and waits for the retry worker (`stage` says which). */
export const PaymentFailed = defineEvent(
  'payment.failed',
  1,
  Type.Object({ ...base, stage: Type.Union([Type.Literal('authorize'), Type.Literal('capture')]), code: Type.String({ maxLength: 80 }) }),
);

export const paymentEvents = [PaymentAuthorized, PaymentCaptured, PaymentVoided, PaymentRefunded, PaymentFailed] as const;
