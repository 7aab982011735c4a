import type { Clock } from '@carshare/platform';

export interface RetryBudgetSettings {
  budgetPercent: number;
  budgetMinRetriesPerSecond: number;
  budgetWindowMs: number;
}

const bucketMs = 1_000;

/**
 * Retries allowed over a sliding window: at most `budgetPercent` % of the calls made in it, plus
 * `budgetMinRetriesPerSecond` per second of the window so that quiet callers can still retry.
 *
 * Per-attempt caps (maxAttempts) do not stop retry storms: with 3 attempts each, every layer of a
 * call chain multiplies load by 3 when a downstream struggles. A budget caps the extra load at
 * the ratio, whatever the depth. Counting is in 1 s buckets: O(1) per call, no timers.
 */
export class RetryBudget {
  readonly #clock: Clock;
  readonly #percent: number;
  readonly #reserve: number;
  readonly #calls: Uint32Array;
  readonly #retries: Uint32Array;
  #bucket = -1;
  #callCount = 0;
  #retryCount = 0;

  constructor(settings: RetryBudgetSettings, clock: Clock) {
    const buckets = Math.ceil(settings.budgetWindowMs / bucketMs);
    this.#clock = clock;
    this.#percent = settings.budgetPercent;
    this.#reserve = settings.budgetMinRetriesPerSecond * buckets;
    this.#calls = new Uint32Array(buckets);
    this.#retries = new Uint32Array(buckets);
  }

  recordCall(): void {
    const slot = this.#rotate();
    this.#calls[slot]!++;
    this.#callCount++;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryAcquireRetry(): boolean {
    const slot = this.#rotate();
    if ((this.#retryCount + 1) * 100 > this.#percent * this.#callCount + 100 * this.#reserve) return false;
    this.#retries[slot]!++;
    this.#retryCount++;
    return true;
  }

  /** Calls and retries currently in the window (for tests and debugging). */
  snapshot(): { calls: number; retries: number } {
    this.#rotate();
    return { calls: this.#callCount, retries: this.#retryCount };
  }

  #rotate(): number {
    const size = this.#calls.length;
    const bucket = Math.floor(this.#clock.now() / bucketMs);
    // A wall clock stepping back keeps counting into the newest bucket instead of reviving old ones.
    if (bucket > this.#bucket) {
      if (this.#bucket < 0 || bucket - this.#bucket >= size) {
        this.#calls.fill(0);
        this.#retries.fill(0);
        this.#callCount = 0;
        this.#retryCount = 0;
      } else {
        for (let passed = this.#bucket + 1; passed <= bucket; passed++) {
          const slot = passed % size;
          this.#callCount -= this.#calls[slot]!;
          this.#retryCount -= this.#retries[slot]!;
          this.#calls[slot] = 0;
          this.#retries[slot] = 0;
        }
      }
      this.#bucket = bucket;
    }
    return this.#bucket % size;
  }
}
