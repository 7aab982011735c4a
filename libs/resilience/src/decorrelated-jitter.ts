export interface JitterSettings {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Next delay of "decorrelated jitter" (AWS Architecture Blog, Exponential Backoff and Jitter):
 * uniform in [base, 3 × previous], the first in [base, 3 × base], capped at maxDelayMs. Each
 * caller wanders on its own, so clients that failed together do not come back together.
 * Pass `previousMs = 0` for the first retry.
 */
export function decorrelatedJitterDelay(previousMs: number, settings: JitterSettings, random: () => number): number {
  const { baseDelayMs, maxDelayMs } = settings;
  const upper = Math.max(baseDelayMs, previousMs) * 3;
  return Math.min(maxDelayMs, Math.floor(baseDelayMs + random() * (upper - baseDelayMs)));
}
