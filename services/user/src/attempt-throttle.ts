import { ResourceExhausted, Unavailable } from '@carshare/platform';
import { countAttempt, judgeAttempt, type FailureCount } from './domain/attempt-backoff.ts';
import type { ThrottleCheck } from './domain/login-throttle.ts';
import type { AttemptCountStore } from './ports.ts';

/**
 * Another request moved a count between our read and our write this many times: give up and ask
 * the client to retry. Each round has at least one winner, so N requests racing on one key (many
 * riders behind one address signing up at once) need up to N rounds; 3 turned a burst of 4 into
 * spurious refusals on PostgreSQL.
 */
const maxRaces = 10;

export interface AdmittedAttempt {
  /** The attempt succeeded: the keys that proved themselves are cleared, the others get their count back. */
  succeeded(): Promise<void>;
}

/**
 * Admits an attempt if every key's back-off allows it, and counts it against each key before the
 * caller checks anything (see countAttempt). Refused attempts count nothing: waiting out the
 * back-off is all a client can do, and a flood of refused attempts does not lengthen it.
 */
export class AttemptThrottle {
  readonly #store: AttemptCountStore;
  readonly #now: () => number;

  constructor(store: AttemptCountStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  async admit(checks: readonly ThrottleCheck[], reason: string, message: string): Promise<AdmittedAttempt> {
    const recorded: { check: ThrottleCheck; count: FailureCount }[] = [];
    for (let race = 0; ; race += 1) {
      const now = this.#now();
      const pending = checks.filter((check) => !recorded.some((done) => done.check.key === check.key));
      const counts = await this.#store.find(pending.map((check) => check.key));
      let retryAfterMs = 0;
      for (const check of pending) {
        const verdict = judgeAttempt(check.rule, counts.get(check.key), now);
        if (!verdict.allowed) retryAfterMs = Math.max(retryAfterMs, verdict.retryAfterMs);
      }
      if (retryAfterMs > 0) {
        // Counts already taken in an earlier round go back: this attempt never ran.
        await this.#giveBack(recorded);
        throw ResourceExhausted(reason, message, { retryAfterMs });
      }
      if (race >= maxRaces) {
        // Contention is not the client's doing: a retryable 503, not a refusal that blames its address.
        await this.#giveBack(recorded);
        throw Unavailable('ATTEMPT_COUNT_CONTENDED', 'too many attempts at the same moment; retry shortly', { retryAfterMs: 1000 });
      }
      let raced = false;
      for (const check of pending) {
        const before = counts.get(check.key);
        const next = countAttempt(check.rule, before, now);
        if (await this.#store.compareAndSet(check.key, before, next)) recorded.push({ check, count: next });
        else raced = true;
      }
      if (!raced) break;
    }
    return { succeeded: () => this.#settle(recorded) };
  }

  async #settle(recorded: readonly { check: ThrottleCheck; count: FailureCount }[]): Promise<void> {
    for (const { check } of recorded) {
      if (check.onSuccess === 'clear') await this.#update(check.key, () => undefined);
      else await this.#update(check.key, (count) => takeOneBack(count));
    }
  }

  async #giveBack(recorded: readonly { check: ThrottleCheck; count: FailureCount }[]): Promise<void> {
    for (const { check } of recorded) await this.#update(check.key, (count) => takeOneBack(count));
  }

  // Best effort under races: a lost race leaves one count too many, which errs on the safe side.
  async #update(key: string, change: (count: FailureCount) => FailureCount | undefined): Promise<void> {
    for (let race = 0; race < maxRaces; race += 1) {
      const current = (await this.#store.find([key])).get(key);
      if (!current) return;
      if (await this.#store.compareAndSet(key, current, change(current))) return;
    }
  }
}

function takeOneBack(count: FailureCount): FailureCount | undefined {
  return count.failures <= 1 ? undefined : { failures: count.failures - 1, lastFailureAt: count.lastFailureAt };
}
