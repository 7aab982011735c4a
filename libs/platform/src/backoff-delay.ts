/**
 * The one backoff formula of the platform: messaging (consumer retries, relay, reconnects,
 * publish retries), resilience (RPC retries) and sagas wait by it. Exponential, capped, with a
 * random share taken off each delay so that callers failing from one cause do not come back in
 * step. It depends only on the attempt number, so a retry that travels through a broker (the
 * attempt in a header) waits the same as one in a loop.
 */
export interface BackoffPolicy {
  /** Delay before the second attempt. */
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Share of each delay that is random (0–1): 0.5 is "equal jitter", 0 is none. */
  jitter: number;
}

/** Checks a policy once, where it is configured, rather than at every delay. */
export function backoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  if (!(policy.initialMs >= 0) || !(policy.maxMs >= policy.initialMs) || !(policy.factor >= 1) || !(policy.jitter >= 0 && policy.jitter <= 1)) {
    throw new RangeError(`invalid backoff ${JSON.stringify(policy)}`);
  }
  return policy;
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based) before the next one:
 * min(maxMs, initialMs × factor^(attempt − 1)), less up to `jitter` of it at random.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** (attempt - 1));
  return Math.round(ceiling * (1 - policy.jitter * random()));
}
