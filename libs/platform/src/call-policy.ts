export interface CallPolicyOptions {
  idempotent: boolean;
  signal: AbortSignal;
  /** Epoch ms. */
  deadline: number;
}

/**
 * What resilience wraps around each outbound call (breaker, retry, bulkhead). The platform only
 * knows this shape; libs/resilience provides the implementations at composition time.
 */
export interface CallPolicy {
  execute<T>(call: (signal: AbortSignal) => Promise<T>, options: CallPolicyOptions): Promise<T>;
}

export const passThroughPolicy: CallPolicy = {
  execute: (call, options) => call(options.signal),
};
