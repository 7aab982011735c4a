import { DeadlineExceeded, Unavailable, isAppError, systemClock } from '@carshare/platform';
import type { DownstreamPolicy } from '@carshare/resilience';
import type { PaymentProvider } from '../ports.ts';

/**
 * The processor behind breaker, bulkhead, retries and a timeout (DESIGN rule 9, applied here
 * because the processor is this service's downstream). Every processor call carries an
 * idempotency key, so each is retried as idempotent: the retry reuses the key and the processor
 * answers it once. A call that outlives its timeout is abandoned, not cancelled at the processor:
 * the key is what makes the next attempt safe.
 */
export class ResilientPaymentProvider implements PaymentProvider {
  readonly #inner: PaymentProvider;
  readonly #policy: DownstreamPolicy;
  readonly #timeoutMs: number;

  constructor(inner: PaymentProvider, policy: DownstreamPolicy, options: { timeoutMs: number }) {
    this.#inner = inner;
    this.#policy = policy;
    this.#timeoutMs = options.timeoutMs;
  }

  describeCard(token: string) {
    return this.#call(() => this.#inner.describeCard(token));
  }

  authorize(request: Parameters<PaymentProvider['authorize']>[0]) {
    return this.#call(() => this.#inner.authorize(request));
  }

  capture(request: Parameters<PaymentProvider['capture']>[0]) {
    return this.#call(() => this.#inner.capture(request));
  }

  charge(request: Parameters<PaymentProvider['charge']>[0]) {
    return this.#call(() => this.#inner.charge(request));
  }

  void(request: Parameters<PaymentProvider['void']>[0]) {
    return this.#call(() => this.#inner.void(request));
  }

  refund(request: Parameters<PaymentProvider['refund']>[0]) {
    return this.#call(() => this.#inner.refund(request));
  }

  async #call<T>(call: () => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      return await this.#policy.execute((attemptSignal) => abandonOnAbort(call(), attemptSignal), {
        idempotent: true,
        signal,
        // Wall time, like the policy's own deadline check: a timeout is real time even under a test's fake clock.
        deadline: systemClock.now() + this.#timeoutMs,
      });
    } catch (error) {
      if (isAppError(error)) throw error;
      // Breaker open, bulkhead full, timeout: to the caller all of these mean the processor cannot be reached now.
      throw Unavailable('PAYMENT_PROVIDER_UNAVAILABLE', 'the payment processor cannot be reached; try again shortly', {}, { cause: error });
    }
  }
}

function abandonOnAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(DeadlineExceeded('PAYMENT_PROVIDER_TIMEOUT', 'the payment processor did not answer in time'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(DeadlineExceeded('PAYMENT_PROVIDER_TIMEOUT', 'the payment processor did not answer in time'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
