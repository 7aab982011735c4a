import { CircuitState } from 'cockatiel';
import type { IBreaker } from 'cockatiel';

export interface CountWindowBreakerOptions {
  windowSize: number;
  minimumCalls: number;
  failureRatePercent: number;
}

/**
 * Count-based sliding window for cockatiel's CircuitBreakerPolicy.
 *
 * cockatiel's CountBreaker opens only *above* the threshold and compares floats
 * (`failures > 0.3 * 10` is false for 3 failures because 0.3 * 10 = 3.0000000000000004). This one
 * opens *at* the configured rate and compares integers, so "50 % of 10 calls" means exactly 5.
 */
export class CountWindowBreaker implements IBreaker {
  readonly #minimumCalls: number;
  readonly #failureRatePercent: number;
  // 1 = success, 0 = failure, -1 = empty slot
  readonly #samples: Int8Array;
  #next = 0;
  #successes = 0;
  #failures = 0;

  constructor(options: CountWindowBreakerOptions) {
    this.#minimumCalls = options.minimumCalls;
    this.#failureRatePercent = options.failureRatePercent;
    this.#samples = new Int8Array(options.windowSize).fill(-1);
  }

  get state(): unknown {
    return { samples: Array.from(this.#samples), next: this.#next, successes: this.#successes, failures: this.#failures };
  }

  set state(value: unknown) {
    const saved = value as { samples: number[]; next: number; successes: number; failures: number };
    this.#samples.set(saved.samples);
    this.#next = saved.next;
    this.#successes = saved.successes;
    this.#failures = saved.failures;
  }

  success(state: CircuitState): void {
    // A successful probe closes the circuit: start from a clean window so the failures that
    // opened it do not reopen it on the next hiccup.
    if (state === CircuitState.HalfOpen) this.#reset();
    this.#sample(1);
  }

  failure(state: CircuitState): boolean {
    this.#sample(0);
    if (state !== CircuitState.Closed) return true;
    const calls = this.#successes + this.#failures;
    return calls >= this.#minimumCalls && this.#failures * 100 >= this.#failureRatePercent * calls;
  }

  #reset(): void {
    this.#samples.fill(-1);
    this.#successes = 0;
    this.#failures = 0;
  }

  #sample(outcome: 0 | 1): void {
    const evicted = this.#samples[this.#next];
    if (evicted === 1) this.#successes--;
    else if (evicted === 0) this.#failures--;
    this.#samples[this.#next] = outcome;
    if (outcome === 1) this.#successes++;
    else this.#failures++;
    this.#next = (this.#next + 1) % this.#samples.length;
  }
}
