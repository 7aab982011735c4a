/**
 * Exponential back-off on failed attempts, per key (an account, a device, a client address, the
 * whole service): a few failures are free, then each one doubles the wait before the next
 * attempt, up to a cap; a quiet key is forgotten. Only attempts that were let through count, so a
 * stranger hammering a throttled account does not push its wait any further: they get one guess
 * per wait, and the wait is bounded (OWASP authentication cheat sheet: slow guessing down without
 * locking anybody out for good).
 */
export interface BackoffRule {
  /** Failures allowed before any wait. */
  freeFailures: number;
  /** The wait after the first failure beyond the free ones; doubled by each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key without a failure for this long starts again from zero. */
  forgetAfterMs: number;
}

export interface FailureCount {
  failures: number;
  lastFailureAt: number;
}

export type AttemptVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/** How long to wait after the last failure before another attempt, given this many failures. */
export function delayAfter(rule: BackoffRule, failures: number): number {
  if (failures < rule.freeFailures) return 0;
  const doublings = failures - rule.freeFailures;
  // 2^30 ms is 12 days: far past any cap, and no overflow to Infinity on the way.
  return Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** Math.min(doublings, 30));
}

/** The count as it stands now: forgotten after a long enough quiet spell. */
export function currentCount(rule: BackoffRule, count: FailureCount | undefined, now: number): FailureCount | undefined {
  if (!count || now - count.lastFailureAt >= rule.forgetAfterMs) return undefined;
  return count;
}

export function judgeAttempt(rule: BackoffRule, count: FailureCount | undefined, now: number): AttemptVerdict {
  const current = currentCount(rule, count, now);
  if (!current) return { allowed: true };
  const openAt = current.lastFailureAt + delayAfter(rule, current.failures);
  return now >= openAt ? { allowed: true } : { allowed: false, retryAfterMs: openAt - now };
}

/**
 * The count once an admitted attempt is recorded. Attempts are counted as failures when they are
 * let in, before the password is checked: otherwise concurrent guesses would all pass the check
 * before the first failure is written. A success then takes its count back.
 */
export function countAttempt(rule: BackoffRule, count: FailureCount | undefined, now: number): FailureCount {
  const current = currentCount(rule, count, now);
  return { failures: (current?.failures ?? 0) + 1, lastFailureAt: now };
}
