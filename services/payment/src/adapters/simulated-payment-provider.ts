import { randomUUID } from 'node:crypto';
import { Conflict, InvalidArgument, Unavailable, systemScheduler, type Scheduler } from '@carshare/platform';
import type { CardDetails, PaymentProvider } from '../ports.ts';

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

interface Intent {
  id: string;
  cardToken: string;
  amountCents: number;
  capturedCents: number;
  refundedCents: number;
  status: 'requires_capture' | 'succeeded' | 'canceled';
}

interface RememberedAnswer {
  fingerprint: string;
  outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
}

/**
 * A card processor in memory with the behaviour that matters to the platform: manual-capture
 * intents, captures no larger than the hold, refunds no larger than the capture, and idempotency
 * keys remembered with their first answer (a declined key stays declined; the same key with other
 * parameters is refused, as real processors do). Outside the platform by definition: the only
 * fake allowed in tests and drills is this one, behind the same port a real processor implements.
 */
export class SimulatedPaymentProvider implements PaymentProvider {
  readonly #intents = new Map<string, Intent>();
  readonly #answers = new Map<string, RememberedAnswer>();
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  settings: SimulatedProviderSettings;
  /** Calls that reached the processor, by operation: what a test counts to prove "charged once". */
  readonly calls = { authorize: 0, capture: 0, charge: 0, void: 0, refund: 0 };

  constructor(settings: Partial<SimulatedProviderSettings> = {}, deps: { scheduler?: Scheduler; random?: () => number } = {}) {
    this.settings = { latencyMs: 0, declineRate: 0, outage: false, ...settings };
    this.#scheduler = deps.scheduler ?? systemScheduler;
    this.#random = deps.random ?? Math.random;
  }

  /** What the processor holds for an intent: for tests and the drill's invariant check. */
  intent(intentId: string): Readonly<Intent> | undefined {
    return this.#intents.get(intentId);
  }

  /** Intents still holding money: a hold left open after a failed trip start is a bug. */
  openHolds(): Intent[] {
    return [...this.#intents.values()].filter((intent) => intent.status === 'requires_capture');
  }

  async describeCard(token: string): Promise<CardDetails> {
    await this.#roundTrip();
    const card = testCards[token];
    if (!card) throw InvalidArgument('CARD_REFUSED', 'the processor does not know this card token', { cardToken: token });
    return { brand: card.brand, last4: card.last4, expMonth: card.expMonth, expYear: card.expYear };
  }

  authorize(request: { cardToken: string; amountCents: number; currency: string; reference: string; idempotencyKey: string }): Promise<{ intentId: string }> {
    return this.#once('authorize', request.idempotencyKey, request, async () => {
      this.calls.authorize += 1;
      this.#declineIfNeeded(request.cardToken);
      const intent: Intent = { id: `pi_${randomUUID()}`, cardToken: request.cardToken, amountCents: request.amountCents, capturedCents: 0, refundedCents: 0, status: 'requires_capture' };
      this.#intents.set(intent.id, intent);
      return { intentId: intent.id };
    });
  }

  capture(request: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<void> {
    return this.#once('capture', request.idempotencyKey, request, async () => {
      this.calls.capture += 1;
      const intent = this.#intentFor(request.intentId, 'requires_capture');
      if (request.amountCents > intent.amountCents) {
        throw InvalidArgument('AMOUNT_TOO_LARGE', 'a capture cannot exceed the authorised amount', { authorized: intent.amountCents });
      }
      intent.capturedCents = request.amountCents;
      intent.status = 'succeeded';
    });
  }

  charge(request: { cardToken: string; amountCents: number; currency: string; reference: string; idempotencyKey: string }): Promise<{ intentId: string }> {
    return this.#once('charge', request.idempotencyKey, request, async () => {
      this.calls.charge += 1;
      this.#declineIfNeeded(request.cardToken);
      const intent: Intent = { id: `pi_${randomUUID()}`, cardToken: request.cardToken, amountCents: request.amountCents, capturedCents: request.amountCents, refundedCents: 0, status: 'succeeded' };
      this.#intents.set(intent.id, intent);
      return { intentId: intent.id };
    });
  }

  void(request: { intentId: string; idempotencyKey: string }): Promise<void> {
    return this.#once('void', request.idempotencyKey, request, async () => {
      this.calls.void += 1;
      this.#intentFor(request.intentId, 'requires_capture').status = 'canceled';
    });
  }

  refund(request: { intentId: string; amountCents: number; idempotencyKey: string }): Promise<{ refundId: string }> {
    return this.#once('refund', request.idempotencyKey, request, async () => {
      this.calls.refund += 1;
      const intent = this.#intentFor(request.intentId, 'succeeded');
      if (intent.refundedCents + request.amountCents > intent.capturedCents) {
        throw InvalidArgument('AMOUNT_TOO_LARGE', 'a refund cannot exceed what was captured', { refundable: intent.capturedCents - intent.refundedCents });
      }
      intent.refundedCents += request.amountCents;
      return { refundId: `re_${randomUUID()}` };
    });
  }

  #intentFor(intentId: string, status: Intent['status']): Intent {
    const intent = this.#intents.get(intentId);
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
   * request, so it is not remembered and a retry with the key can still succeed.
   */
  async #once<T>(operation: string, key: string, parameters: object, run: () => Promise<T>): Promise<T> {
    await this.#roundTrip();
    const fingerprint = JSON.stringify({ operation, ...parameters, idempotencyKey: undefined });
    const remembered = this.#answers.get(key);
    if (remembered) {
      if (remembered.fingerprint !== fingerprint) {
        throw InvalidArgument('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used with other parameters', { idempotencyKey: key });
      }
      if (!remembered.outcome.ok) throw remembered.outcome.error;
      return remembered.outcome.value as T;
    }
    try {
      const value = await run();
      this.#answers.set(key, { fingerprint, outcome: { ok: true, value } });
      return value;
    } catch (error) {
      this.#answers.set(key, { fingerprint, outcome: { ok: false, error } });
      throw error;
    }
  }
}
