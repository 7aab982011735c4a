import { randomUUID } from 'node:crypto';
import { AppError, Conflict, InvalidArgument, Unavailable, isAppError, isCanonicalCode, systemScheduler, type Scheduler } from '@carshare/platform';
import type { CardDetails, PaymentProvider } from '../ports.ts';
import { MemoryProcessorStore, allProcessorIntents, type ProcessorCall, type ProcessorIntent, type ProcessorOutcome, type ProcessorStore } from './simulated-processor-store.ts';

/**
 * Test card tokens, as processors publish them: each behaves the same way every time, so a
 * drill can pick its failure. Any other token is refused at `describeCard`.
 */
const testCards: Record<string, CardDetails & { decline?: string }> = {
  tok_visa: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2034 },
  tok_mastercard: { brand: 'mastercard', last4: '4444', expMonth: 6, expYear: 2033 },
  tok_amex: { brand: 'amex', last4: '8431', expMonth: 3, expYear: 2032 },
  tok_chargeDeclined: { brand: 'visa', last4: '0002', expMonth: 12, expYear: 2034, decline: 'generic_decline' },
  tok_insufficientFunds: { brand: 'visa', last4: '9995', expMonth: 12, expYear: 2034, decline: 'insufficient_funds' },
};

export interface SimulatedProviderSettings {
  /** Added to every call, like a processor's round trip. */
  latencyMs: number;
  /** Share of authorisations and charges declined at random (0..1), besides the declining test cards. */
  declineRate: number;
  /** While true every call fails with UNAVAILABLE, as in a processor outage. */
  outage: boolean;
}

/**
 * A card processor with the behaviour that matters to the platform: manual-capture intents,
 * captures no larger than the hold, refunds no larger than the capture, and idempotency keys
 * remembered with their first answer (a declined key stays declined; the same key with other
 * parameters is refused, as real processors do). Its state lives in a `ProcessorStore`: durable
 * tables of its own (the module's default) so that, like a real processor, it outlives the payment
 * process; in memory for unit tests. Outside the platform by definition: the only fake allowed in
 * tests and drills is this one, behind the same port a real processor implements.
 */
export class SimulatedPaymentProvider implements PaymentProvider {
  readonly #store: ProcessorStore;
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  settings: SimulatedProviderSettings;
  /** Calls this process had answered by the processor (not repeats of a key, nor a decision lost to a race), by operation: what a test counts to prove "charged once". */
  readonly calls = { authorize: 0, capture: 0, charge: 0, void: 0, refund: 0 };

  constructor(settings: Partial<SimulatedProviderSettings> = {}, deps: { scheduler?: Scheduler; random?: () => number; store?: ProcessorStore } = {}) {
    this.settings = { latencyMs: 0, declineRate: 0, outage: false, ...settings };
    this.#scheduler = deps.scheduler ?? systemScheduler;
    this.#random = deps.random ?? Math.random;
    this.#store = deps.store ?? new MemoryProcessorStore();
  }

  /** What the processor holds for an intent: for tests and the drill's invariant check. */
  intent(intentId: string): Promise<ProcessorIntent | undefined> {
    return this.#store.intent(intentId);
  }

  /** Intents still holding money: a hold left open after a failed trip start is a bug. */
  async openHolds(): Promise<ProcessorIntent[]> {
    return (await allProcessorIntents(this.#store)).filter((intent) => intent.status === 'requires_capture');
  }

  async describeCard(token: string): Promise<CardDetails> {
    await this.#roundTrip();
    const card = testCards[token];
    if (!card) throw InvalidArgument('CARD_REFUSED', 'the processor does not know this card token', { cardToken: token });
    return { brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear };
  }

  authorize(request: { cardToken: string; amountCents: number; currency: string; reference: string; idempotencyKey: string }): Promise<{ intentId: string }> {
    return this.#once('authorize', request.idempotencyKey, request, async (call) => {
      this.#declineIfNeeded(request.cardToken);
      const intent: ProcessorIntent = {
        id: `pi_${randomUUID()}`,
        kind: 'hold',
        reference: request.reference,
        cardToken: request.cardToken,
        currency: request.currency,
        amountCents: request.amountCents,
        capturedCents: 0,
        refundedCents: 0,
        status: 'requires_capture',
      };
      await call.save(intent);
      return { intentId: intent.id };
    });
  }

  capture(request: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<void> {
    return this.#once('capture', request.idempotencyKey, request, async (call) => {
      const intent = await this.#intentFor(call, request.intentId, 'requires_capture');
      if (request.amountCents > intent.amountCents) {
        throw InvalidArgument('AMOUNT_TOO_LARGE', 'a capture cannot exceed the authorised amount', { authorized: intent.amountCents });
      }
      await call.save({ ...intent, capturedCents: request.amountCents, status: 'succeeded' });
    });
  }

  charge(request: { cardToken: string; amountCents: number; currency: string; reference: string; idempotencyKey: string }): Promise<{ intentId: string }> {
    return this.#once('charge', request.idempotencyKey, request, async (call) => {
      this.#declineIfNeeded(request.cardToken);
      const intent: ProcessorIntent = {
        id: `pi_${randomUUID()}`,
        kind: 'charge',
        reference: request.reference,
        cardToken: request.cardToken,
        currency: request.currency,
        amountCents: request.amountCents,
        capturedCents: request.amountCents,
        refundedCents: 0,
        status: 'succeeded',
      };
      await call.save(intent);
      return { intentId: intent.id };
    });
  }

  void(request: { intentId: string; idempotencyKey: string }): Promise<void> {
    return this.#once('void', request.idempotencyKey, request, async (call) => {
      const intent = await this.#intentFor(call, request.intentId, 'requires_capture');
      await call.save({ ...intent, status: 'canceled' });
    });
  }

  refund(request: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<{ refundId: string }> {
    return this.#once('refund', request.idempotencyKey, request, async (call) => {
      const intent = await this.#intentFor(call, request.intentId, 'succeeded');
      if (intent.refundedCents + request.amountCents > intent.capturedCents) {
        throw InvalidArgument('AMOUNT_TOO_LARGE', 'a refund cannot exceed what was captured', { refundable: intent.capturedCents - intent.refundedCents });
      }
      await call.save({ ...intent, refundedCents: intent.refundedCents + request.amountCents });
      return { refundId: `re_${randomUUID()}` };
    });
  }

  async #intentFor(call: ProcessorCall, intentId: string, status: ProcessorIntent['status']): Promise<ProcessorIntent> {
    const intent = await call.intent(intentId);
    if (!intent) throw InvalidArgument('NO_SUCH_INTENT', `no payment intent ${intentId}`);
    if (intent.status !== status) throw Conflict('INTENT_STATE', `the intent is ${intent.status}`, { status: intent.status });
    return intent;
  }

  #declineIfNeeded(cardToken: string): void {
    const card = testCards[cardToken];
    const decline = card?.decline ?? (this.#random() < this.settings.declineRate ? 'generic_decline' : undefined);
    if (!card) throw Conflict('PAYMENT_DECLINED', 'the card was declined', { declineCode: 'invalid_token' });
    if (decline) throw Conflict('PAYMENT_DECLINED', 'the card was declined', { declineCode: decline });
  }

  async #roundTrip(): Promise<void> {
    if (this.settings.latencyMs > 0) await new Promise<void>((resolve) => this.#scheduler.setTimeout(resolve, this.settings.latencyMs));
    if (this.settings.outage) throw Unavailable('PAYMENT_PROVIDER_UNAVAILABLE', 'the payment processor is not answering');
  }

  /**
   * Runs an operation once per idempotency key: an outage happens before the processor sees the
   * request, so it is not remembered and a retry with the key can still succeed. The processor's
   * own refusals (declines, bad amounts, unknown intents) are answers, remembered as such; any
   * other failure (its store not answering) leaves the key unused.
   */
  async #once<T>(operation: keyof SimulatedPaymentProvider['calls'], key: string, parameters: object, run: (call: ProcessorCall) => Promise<T>): Promise<T> {
    await this.#roundTrip();
    const fingerprint = JSON.stringify({ operation, ...parameters, idempotencyKey: undefined });
    const answer = await this.#store.once(key, fingerprint, async (call): Promise<ProcessorOutcome> => {
      try {
        return { ok: true, value: (await run(call)) ?? null };
      } catch (error) {
        if (!isAppError(error)) throw error;
        return { ok: false, error: { code: error.code, reason: error.reason, message: error.message, details: error.details } };
      }
    });
    if (answer.answeredNow) this.calls[operation] += 1;
    if (answer.fingerprint !== fingerprint) {
      throw InvalidArgument('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used with other parameters', { idempotencyKey: key });
    }
    if (!answer.outcome.ok) {
      const { code, reason, message, details } = answer.outcome.error;
      throw new AppError(isCanonicalCode(code) ? code : 'INTERNAL', reason, message, details);
    }
    return (answer.outcome.value ?? undefined) as T;
  }
}
