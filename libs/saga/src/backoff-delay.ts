export interface BackoffPolicy {
  /** Delay before the second attempt. */
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Share of each delay that is random (0–1), so failures from one cause do not retry in step. */
  jitter: number;
}

// The same policy shape as @carshare/messaging's, kept here so that a saga does not load the
// broker client stack (amqplib and the rest) just for a formula.
export function backoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  if (!(policy.initialMs >= 0) || !(policy.maxMs >= policy.initialMs) || !(policy.factor >= 1) || !(policy.jitter >= 0 && policy.jitter <= 1)) {
    throw new RangeError(`invalid backoff ${JSON.stringify(policy)}`);
  }
  return policy;
}

/** Milliseconds to wait after failed attempt number `attempt` (1-based) before the next one. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** (attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}
