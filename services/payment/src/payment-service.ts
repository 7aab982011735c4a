import { createHash } from 'node:crypto';
import { PaymentAuthorized, PaymentCaptured, PaymentFailed, PaymentRefunded, PaymentVoided, isStaff } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import { Conflict, NotFound, PermissionDenied, Unauthenticated, isAppError, type Caller } from '@carshare/platform';
import { mayRetry, mayWaive, type FeeCharge, type FeeChargeStatus } from './domain/fee-charge.ts';
import { authorizeMovement, captureMovement, refundMovement, voidMovement } from './domain/ledger.ts';
import {
  assertAmount,
  paymentChanged,
  refundableCents,
  requireTransition,
  splitCapture,
  statusAfterRefund,
  type Payment,
  type PaymentStatus,
  type RefundReason,
} from './domain/payment.ts';
import type { FeeChargePage, FeeOutcome, LedgerReport, PaymentMethod, PaymentMethodPage, PaymentPage, PaymentPorts, PaymentTransaction, PaymentWrites, RefundRecord } from './ports.ts';

/** How often a change decides again after another wrote the payment first, before it answers PAYMENT_CHANGED. */
const maxDecisions = 5;

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  return caller;
}

function requireStaff(caller: Caller | undefined): Caller {
  const staff = requireCaller(caller);
  if (!isStaff(staff.role)) throw PermissionDenied('STAFF_ONLY', 'only operators may do this');
  return staff;
}

function paymentNotFound(paymentId: string): Error {
  return NotFound('PAYMENT_NOT_FOUND', `no payment ${paymentId}`, { paymentId });
}

export interface PaymentServiceDeps extends PaymentPorts {
  events: EventFactory;
}

/**
 * The payment service's use cases: each takes what the caller sent and who the caller is. Holds,
 * captures and voids take no end user: the RPC contract admits only the trip service to them
 * (`callers`, checked on its signed identity before a handler runs), because a rider who could void
 * their own hold would drive for free.
 */
export function createPaymentService(deps: PaymentServiceDeps) {
  const { payments, fees, unitOfWork, provider, clock, ids, events, currency } = deps;

  function eventBase(payment: Payment) {
    return { paymentId: payment.id, riderId: payment.riderId, reference: payment.reference, currency: payment.currency };
  }

  function movementBase(payment: Payment) {
    return { id: ids.next(), paymentId: payment.id, riderId: payment.riderId, currency: payment.currency, at: clock.now() };
  }

  async function saveIn(tx: PaymentTransaction, next: Payment, previous: Payment): Promise<Payment> {
    const saved = { ...next, version: previous.version + 1, updatedAt: clock.now() };
    if (!(await tx.update(saved, previous.version))) {
      throw paymentChanged(previous.id);
    }
    return saved;
  }

  /** `next` as the version after `previous`, queued to be written only if nobody wrote `previous` meanwhile. */
  function saveTo(writes: PaymentWrites, next: Payment, previous: Payment): Payment {
    const saved = { ...next, version: previous.version + 1, updatedAt: clock.now() };
    writes.update(saved, previous.version);
    return saved;
  }

  /**
   * Reads the payment, lets `decide` queue its writes from what it read, and commits them only if
   * the payment is still at the version read; after a race it reads and decides again. Where a
   * transaction would lock the row while deciding, this holds nothing (UnitOfWork.write).
   * `known`: the payment as this call has just written it, decided on first instead of read again.
   */
  async function changePayment<T>(paymentId: string, decide: (current: Payment, writes: PaymentWrites) => T, known?: Payment): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const current = attempt === 1 && known !== undefined ? known : await payments.findById(paymentId);
      if (!current) throw paymentNotFound(paymentId);
      let decided: { value: T } | undefined;
      try {
        await unitOfWork.write((writes) => {
          decided = { value: decide(current, writes) };
        });
        return decided!.value;
      } catch (error) {
        if (!(isAppError(error) && error.reason === 'PAYMENT_CHANGED') || attempt >= maxDecisions) throw error;
      }
    }
  }

  async function newestMethod(riderId: string): Promise<PaymentMethod> {
    const page = await payments.listMethods(riderId, { limit: 1, cursor: undefined });
    const method = page.items[0];
    if (!method) throw Conflict('NO_PAYMENT_METHOD', 'the rider has no saved card', { riderId });
    return method;
  }

  /**
   * Asks the processor for the capture written on the payment (amount and key), then records
   * the result. Runs for a fresh capture and for every retry, always with the same keys, so the
   * processor charges once however often this runs.
   */
  async function settleCapture(paymentId: string, justSaved?: Payment): Promise<Payment> {
    // A fresh capture hands over the row it has just committed: no need to read it back, here
    // nor when recording the outcome (the write is at that version, so a change since is seen).
    const pending = justSaved ?? (await payments.findById(paymentId));
    if (!pending) throw paymentNotFound(paymentId);
    if (pending.status !== 'capture_pending' || pending.captureCents === undefined || pending.captureKey === undefined) return pending;
    const { fromHoldCents, extraCents } = splitCapture(pending.authorizedCents, pending.captureCents);
    let extraChargeId: string | undefined;
    try {
      await provider.capture({ intentId: pending.providerIntentId, amountCents: fromHoldCents, idempotencyKey: `${pending.captureKey}:hold` });
      if (extraCents > 0) {
        const method = await payments.findMethod(pending.paymentMethodId);
        if (!method) throw Conflict('NO_PAYMENT_METHOD', 'the card of this payment was removed', { paymentId });
        const extra = await provider.charge({
          cardToken: method.providerToken,
          amountCents: extraCents,
          currency: pending.currency,
          reference: pending.reference,
          idempotencyKey: `${pending.captureKey}:extra`,
        });
        extraChargeId = extra.intentId;
      }
    } catch (error) {
      const code = isAppError(error) ? error.reason : 'UNKNOWN';
      return changePayment(paymentId, (current, writes) => {
        if (current.status !== 'capture_pending') return current;
        const attempts = current.captureAttempts + 1;
        const failed = { ...current, captureAttempts: attempts, nextCaptureAttemptAt: clock.now() + deps.captureRetryDelayMs(attempts), lastError: code };
        const saved = saveTo(writes, failed, current);
        if (attempts === 1) writes.publish(events.create(PaymentFailed, saved.id, { ...eventBase(saved), stage: 'capture', code }));
        return saved;
      }, pending);
    }
    return changePayment(paymentId, (current, writes) => {
      if (current.status !== 'capture_pending') return current;
      requireTransition(current, 'captured');
      const capturedCents = current.captureCents ?? 0;
      const captured: Payment = {
        ...current,
        status: 'captured',
        capturedCents,
        providerExtraChargeId: extraChargeId,
        nextCaptureAttemptAt: undefined,
        lastError: undefined,
      };
      const saved = saveTo(writes, captured, current);
      writes.record(captureMovement(movementBase(saved), saved.authorizedCents, capturedCents));
      writes.publish(events.create(PaymentCaptured, saved.id, { ...eventBase(saved), amountCents: capturedCents, authorizedCents: saved.authorizedCents }));
      return saved;
    }, pending);
  }

  const useCases = {
    async addPaymentMethod(input: { cardToken: string }, caller: Caller | undefined): Promise<PaymentMethod> {
      const rider = requireCaller(caller);
      const card = await provider.describeCard(input.cardToken);
      const method: PaymentMethod = { id: ids.next(), riderId: rider.userId, providerToken: input.cardToken, ...card, createdAt: clock.now() };
      await unitOfWork.run((tx) => tx.insertMethod(method));
      return method;
    },

    async listPaymentMethods(input: { limit: number; cursor?: string | undefined }, caller: Caller | undefined): Promise<PaymentMethodPage> {
      return payments.listMethods(requireCaller(caller).userId, { limit: input.limit, cursor: input.cursor });
    },

    async removePaymentMethod(input: { paymentMethodId: string }, caller: Caller | undefined): Promise<void> {
      const rider = requireCaller(caller);
      const method = await payments.findMethod(input.paymentMethodId);
      if (!method || method.riderId !== rider.userId) {
        throw NotFound('PAYMENT_METHOD_NOT_FOUND', `no payment method ${input.paymentMethodId}`, { paymentMethodId: input.paymentMethodId });
      }
      await unitOfWork.run((tx) => tx.deleteMethod(method.id));
    },

    /**
     * One hold per reference. The processor's idempotency key is derived from the reference, so a
     * retry after a timeout (ours or the caller's) finds the same hold instead of placing another.
     */
    async authorize(input: { riderId: string; reference: string; amountCents: number; attempt?: number | undefined }): Promise<Payment> {
      assertAmount(input.amountCents);
      const existing = await payments.findByReference(input.reference);
      if (existing) {
        if (existing.riderId !== input.riderId || existing.authorizedCents !== input.amountCents) {
          throw Conflict('PAYMENT_REFERENCE_REUSED', 'this reference already has a payment with other terms', { reference: input.reference, paymentId: existing.id });
        }
        return existing;
      }
      const method = await newestMethod(input.riderId);
      let intentId: string;
      try {
        ({ intentId } = await provider.authorize({
          cardToken: method.providerToken,
          amountCents: input.amountCents,
          currency,
          reference: input.reference,
          // A later attempt of a fee the card refused asks anew: the processor would answer the
          // first attempt's key with its first answer, the decline.
          idempotencyKey: `authorize:${input.reference}:${method.id}${input.attempt !== undefined && input.attempt > 1 ? `:attempt-${input.attempt}` : ''}`,
        }));
      } catch (error) {
        if (isAppError(error) && error.reason === 'PAYMENT_DECLINED') {
          const subject = ids.next();
          await unitOfWork.write((writes) =>
            writes.publish(
              events.create(PaymentFailed, subject, {
                paymentId: subject,
                riderId: input.riderId,
                reference: input.reference,
                currency,
                stage: 'authorize',
                code: typeof error.details['declineCode'] === 'string' ? error.details['declineCode'] : 'declined',
              }),
            ),
          );
        }
        throw error;
      }
      const now = clock.now();
      const payment: Payment = {
        id: ids.next(),
        riderId: input.riderId,
        reference: input.reference,
        currency,
        paymentMethodId: method.id,
        status: 'authorized',
        authorizedCents: input.amountCents,
        captureCents: undefined,
        capturedCents: 0,
        refundedCents: 0,
        providerIntentId: intentId,
        providerExtraChargeId: undefined,
        captureKey: undefined,
        captureAttempts: 0,
        nextCaptureAttemptAt: undefined,
        lastError: undefined,
        version: 1,
        createdAt: now,
        updatedAt: now,
      };
      try {
        await unitOfWork.write((writes) => {
          writes.insert(payment);
          writes.record(authorizeMovement(movementBase(payment), payment.authorizedCents));
          writes.publish(events.create(PaymentAuthorized, payment.id, { ...eventBase(payment), amountCents: payment.authorizedCents }));
        });
      } catch (error) {
        // Two concurrent calls for one reference got the same hold from the processor (same key):
        // the unique reference lets one row in, and the other call answers that row.
        const winner = await payments.findByReference(input.reference);
        if (winner) return winner;
        throw error;
      }
      return payment;
    },

    async capture(input: { paymentId: string; amountCents: number }): Promise<Payment> {
      assertAmount(input.amountCents);
      const started = await changePayment(input.paymentId, (current, writes) => {
        if (current.status !== 'authorized') {
          if (current.captureCents === input.amountCents) return current;
          if (current.captureCents !== undefined) {
            throw Conflict('CAPTURE_AMOUNT_CHANGED', 'this payment is already being captured for another amount', {
              paymentId: current.id,
              captureCents: current.captureCents,
            });
          }
          requireTransition(current, 'capture_pending');
        }
        const pending: Payment = { ...current, status: 'capture_pending', captureCents: input.amountCents, captureKey: `capture:${current.id}`, nextCaptureAttemptAt: clock.now() };
        return saveTo(writes, pending, current);
      });
      return started.status === 'capture_pending' ? settleCapture(started.id, started) : started;
    },

    async void(input: { paymentId: string }): Promise<Payment> {
      const payment = await payments.findById(input.paymentId);
      if (!payment) throw paymentNotFound(input.paymentId);
      if (payment.status === 'voided') return payment;
      requireTransition(payment, 'voided');
      await provider.void({ intentId: payment.providerIntentId, idempotencyKey: `void:${payment.id}` });
      return unitOfWork.run(async (tx) => {
        const current = await tx.lockById(payment.id);
        if (!current) throw paymentNotFound(payment.id);
        if (current.status === 'voided') return current;
        requireTransition(current, 'voided');
        const saved = await saveIn(tx, { ...current, status: 'voided' }, current);
        await tx.record(voidMovement(movementBase(saved), saved.authorizedCents));
        await tx.publish(events.create(PaymentVoided, saved.id, { ...eventBase(saved), amountCents: saved.authorizedCents }));
        return saved;
      });
    },

    async refund(
      input: { paymentId: string; amountCents: number; reason: RefundReason; note?: string | undefined; idempotencyKey: string },
      caller: Caller | undefined,
    ): Promise<{ payment: Payment; refunds: RefundRecord[] }> {
      const operator = requireStaff(caller);
      assertAmount(input.amountCents);
      const payment = await payments.findById(input.paymentId);
      if (!payment) throw paymentNotFound(input.paymentId);
      const refundKey = `refund:${payment.id}:${input.idempotencyKey}`;
      const earlier = await payments.refundsOf(payment.id);
      if (earlier.some((refund) => refund.id === refundIdOf(refundKey))) return { payment, refunds: earlier };
      if (input.amountCents > refundableCents(payment)) {
        throw Conflict('REFUND_EXCEEDS_CAPTURE', 'a refund cannot exceed what was captured and not yet refunded', {
          paymentId: payment.id,
          refundableCents: refundableCents(payment),
        });
      }
      requireTransition(payment, statusAfterRefund(payment, input.amountCents));
      const { refundId } = await provider.refund({ intentId: payment.providerIntentId, amountCents: input.amountCents, idempotencyKey: refundKey });
      const recorded = unitOfWork.run(async (tx) => {
        const current = await tx.lockById(payment.id);
        if (!current) throw paymentNotFound(payment.id);
        const next: PaymentStatus = statusAfterRefund(current, input.amountCents);
        requireTransition(current, next);
        const saved = await saveIn(tx, { ...current, status: next, refundedCents: current.refundedCents + input.amountCents }, current);
        await tx.insertRefund({
          id: refundIdOf(refundKey),
          paymentId: saved.id,
          amountCents: input.amountCents,
          reason: input.reason,
          note: input.note,
          operatorId: operator.userId,
          providerRefundId: refundId,
          at: clock.now(),
        });
        await tx.record(refundMovement(movementBase(saved), input.amountCents));
        await tx.publish(
          events.create(PaymentRefunded, saved.id, {
            ...eventBase(saved),
            amountCents: input.amountCents,
            totalRefundedCents: saved.refundedCents,
            reason: input.reason,
            operatorId: operator.userId,
          }),
        );
      });
      try {
        await recorded;
      } catch (error) {
        // The same key sent twice at once: the processor refunded once, and the refund's id
        // (derived from the key) let only one row in. The loser answers what the winner wrote.
        const won = (await payments.refundsOf(payment.id)).some((refund) => refund.id === refundIdOf(refundKey));
        if (!won) throw error;
      }
      const updated = await payments.findById(payment.id);
      return { payment: updated ?? payment, refunds: await payments.refundsOf(payment.id) };
    },

    async getPayment(input: { paymentId: string }, caller: Caller | undefined): Promise<{ payment: Payment; refunds: RefundRecord[] }> {
      const reader = requireCaller(caller);
      const payment = await payments.findById(input.paymentId);
      // Someone else's payment is "not found": its existence is not theirs to learn.
      if (!payment || (!isStaff(reader.role) && payment.riderId !== reader.userId)) throw paymentNotFound(input.paymentId);
      return { payment, refunds: await payments.refundsOf(payment.id) };
    },

    async getPaymentByReference(input: { reference: string }): Promise<Payment> {
      const payment = await payments.findByReference(input.reference);
      if (!payment) throw NotFound('PAYMENT_NOT_FOUND', `no payment for ${input.reference}`, { reference: input.reference });
      return payment;
    },

    async listPayments(
      input: { limit: number; cursor?: string | undefined; riderId?: string | undefined; status?: PaymentStatus | undefined },
      caller: Caller | undefined,
    ): Promise<PaymentPage> {
      const reader = requireCaller(caller);
      const riderId = isStaff(reader.role) ? input.riderId : reader.userId;
      return payments.list({ riderId, status: input.status, limit: input.limit, cursor: input.cursor });
    },

    async checkLedger(caller: Caller | undefined): Promise<LedgerReport & { balanced: boolean }> {
      requireStaff(caller);
      const report = await payments.checkLedger();
      return { ...report, balanced: report.totalCents === 0 && report.unbalancedMovementIds.length === 0 && report.mismatchedPaymentIds.length === 0 };
    },

    /** The retry worker's round: every capture that failed and is due gets another go, same key. */
    async retryDueCaptures(limit = 50): Promise<{ attempted: number; captured: number }> {
      const due = await payments.dueCaptures(clock.now(), limit);
      let captured = 0;
      for (const payment of due) {
        const result = await settleCapture(payment.id);
        if (result.status !== 'captured') continue;
        captured += 1;
        // A fee charged alone whose capture waited for the processor: charged now.
        await fees.chargedByReference(result.reference, result.id, clock.now());
      }
      return { attempted: due.length, captured };
    },
  };

  /**
   * One attempt of a fee: a hold and its capture for the whole amount, under the fee's reference
   * (one payment per fee, however often this runs) and the attempt's processor keys. A refusal
   * (declined card, no card, processor down past the provider's retries) leaves the fee `failed`
   * for an operator; an error of our own leaves it `charging`, and a repeat resumes it.
   */
  async function attemptFee(fee: FeeCharge): Promise<FeeCharge> {
    const attempt = fee.attempts;
    let outcome: FeeOutcome;
    try {
      const held = await useCases.authorize({ riderId: fee.riderId, reference: fee.reference, amountCents: fee.amountCents, attempt });
      // Captured, or kept by the capture retry worker (which marks the fee charged when done).
      const captured = await useCases.capture({ paymentId: held.id, amountCents: fee.amountCents });
      outcome = captured.status === 'captured' ? { status: 'charged', paymentId: captured.id } : { status: 'charging', paymentId: captured.id, lastError: captured.lastError };
    } catch (error) {
      if (!isAppError(error)) throw error;
      const decline = typeof error.details['declineCode'] === 'string' ? `:${error.details['declineCode']}` : '';
      outcome = { status: 'failed', lastError: `${error.reason}${decline}` };
    }
    return (await fees.settle(fee.id, attempt, outcome, clock.now())) ?? (await fees.find(fee.id)) ?? fee;
  }

  function requireFee(fee: FeeCharge | undefined, feeId: string): FeeCharge {
    if (!fee) throw NotFound('FEE_CHARGE_NOT_FOUND', `no fee charge ${feeId}`, { feeChargeId: feeId });
    return fee;
  }

  return {
    ...useCases,

    /**
     * Charges a fee on its own (the trip service, for an extension fee no trip carries): once per
     * reference, however often asked. A fee already settled answers as it stands (a failed one is
     * an operator's now); one left `charging` (a crash, a lost answer) is resumed with its keys.
     */
    async chargeFee(input: { riderId: string; reference: string; amountCents: number; description: string }): Promise<FeeCharge> {
      assertAmount(input.amountCents);
      const now = clock.now();
      const fee = await fees.open({
        id: ids.next(),
        reference: input.reference,
        riderId: input.riderId,
        amountCents: input.amountCents,
        currency,
        description: input.description,
        status: 'charging',
        attempts: 1,
        lastError: undefined,
        paymentId: undefined,
        waiver: undefined,
        createdAt: now,
        updatedAt: now,
      });
      if (fee.riderId !== input.riderId || fee.amountCents !== input.amountCents) {
        throw Conflict('PAYMENT_REFERENCE_REUSED', 'this reference already has a fee with other terms', { reference: input.reference, feeChargeId: fee.id });
      }
      return fee.status === 'charging' ? attemptFee(fee) : fee;
    },

    /** Operators: fees by status (default the failed ones), newest first, optionally one rider's. */
    async listFeeCharges(input: { limit: number; cursor?: string | undefined; status?: FeeChargeStatus | undefined; riderId?: string | undefined }, caller: Caller | undefined): Promise<FeeChargePage> {
      requireStaff(caller);
      return fees.list({ status: input.status ?? 'failed', riderId: input.riderId, limit: input.limit, cursor: input.cursor });
    },

    /**
     * Operators: another attempt at a failed fee (the rider may have a working card now), or the
     * end of one left charging. A charged fee answers as it is: a repeated retry charges once.
     */
    async retryFeeCharge(input: { feeChargeId: string }, caller: Caller | undefined): Promise<FeeCharge> {
      requireStaff(caller);
      const fee = requireFee(await fees.find(input.feeChargeId), input.feeChargeId);
      if (fee.status === 'charged') return fee;
      if (!mayRetry(fee)) throw Conflict('FEE_CHARGE_WAIVED', 'a waived fee is not charged', { feeChargeId: fee.id, current: fee.status });
      if (fee.status === 'charging') return attemptFee(fee);
      const claimed = await fees.claimRetry(fee.id, clock.now());
      if (claimed) return attemptFee(claimed);
      // Another retry or a waiver got there first: its outcome is the answer, and an attempt still
      // under way is joined with its own keys (the processor and the unique reference make it one).
      const current = requireFee(await fees.find(fee.id), fee.id);
      return current.status === 'charging' ? attemptFee(current) : current;
    },

    /** Operators: give up a failed fee, with a reason; who and why stay on the fee. */
    async waiveFeeCharge(input: { feeChargeId: string; reason: string }, caller: Caller | undefined): Promise<FeeCharge> {
      const operator = requireStaff(caller);
      const fee = requireFee(await fees.find(input.feeChargeId), input.feeChargeId);
      if (fee.status === 'waived') return fee;
      if (!mayWaive(fee)) {
        throw Conflict('FEE_CHARGE_NOT_FAILED', `a ${fee.status} fee cannot be waived: only a failed one`, { feeChargeId: fee.id, current: fee.status });
      }
      const waived = await fees.waive(fee.id, { operatorId: operator.userId, reason: input.reason }, clock.now());
      if (waived) return waived;
      const now = requireFee(await fees.find(fee.id), fee.id);
      if (now.status === 'waived') return now;
      throw Conflict('FEE_CHARGE_NOT_FAILED', `a ${now.status} fee cannot be waived: only a failed one`, { feeChargeId: now.id, current: now.status });
    },
  };
}

/**
 * A refund's id follows from its key, so a repeated request finds the refund it already made: a
 * name-based id (RFC 9562 v8 layout over SHA-256) that fits the refunds table's uuid column.
 */
function refundIdOf(refundKey: string): string {
  const hex = createHash('sha256').update(refundKey).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

export type PaymentService = ReturnType<typeof createPaymentService>;
