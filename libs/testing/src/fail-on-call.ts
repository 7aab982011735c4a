/** The names of `T`'s methods that return a promise: the calls a port makes across a boundary. */
export type AsyncMethodOf<T> = {
  [K in keyof T]-?: T[K] extends (...args: any[]) => Promise<unknown> ? K : never;
}[keyof T];

export interface FailingCall {
  /** Calls of the method since `failOnCall`, the failing ones included. */
  readonly calls: number;
  /** Puts the real method back. */
  restore(): void;
}

export interface FailOnCallOptions {
  /** How many calls fail from the n-th on: 1 (the default) for a blip, Infinity for an outage. */
  times?: number;
}

/**
 * Makes the n-th call (1-based, counted from now) of `target[method]` reject with `error`; the
 * calls before it and after it reach the real method. It patches `target` itself rather than
 * handing back a proxy, so every holder of the fake (a unit of work, the use cases) sees the
 * fault, and the real method still runs with `this` = the fake (a proxy would break `#private`).
 *
 *   failOnCall(fakes.outbox, 'add', 1, new Error('disk full'));   // the next event write fails
 */
export function failOnCall<T extends object, K extends AsyncMethodOf<T>>(
  target: T,
  method: K,
  n: number,
  error: Error,
  options: FailOnCallOptions = {},
): FailingCall {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n counts calls from 1, not ${n}`);
  const times = options.times ?? 1;
  const own = Object.getOwnPropertyDescriptor(target, method);
  const original = target[method] as (...args: unknown[]) => Promise<unknown>;
  let calls = 0;
  const failing = (...args: unknown[]): Promise<unknown> => {
    calls += 1;
    if (calls >= n && calls < n + times) return Promise.reject(error);
    return original.apply(target, args);
  };
  Object.defineProperty(target, method, { value: failing, configurable: true, writable: true, enumerable: false });
  return {
    get calls() {
      return calls;
    },
    restore() {
      if (own) Object.defineProperty(target, method, own);
      else delete (target as Record<PropertyKey, unknown>)[method];
    },
  };
}
