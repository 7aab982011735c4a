import type { Discovery } from '@carshare/platform';

/** One logical request of the load: what the client saw after retrying on other gateways. */
export interface LoadRequest {
  /** performance.now() when it started. */
  at: number;
  ms: number;
  ok: boolean;
  attempts: number;
  /** Why the last attempt failed, when it did. */
  error?: string;
}

/** One attempt that a gateway answered badly (or never answered): a retry hides it from the caller, not from us. */
export interface AttemptError {
  at: number;
  gateway: string;
  error: string;
}

export interface GatewayLoadOptions {
  /** Where the gateways are: the same etcd registrations any caller watches. */
  discovery: Discovery;
  /** Bearer tokens of riders; requests take them in turn. */
  tokens: readonly string[];
  /** The whole request, retries on other gateways included, must end within this. */
  deadlineMs: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Pause of each worker between its requests (keeps the load from eating the 2 shared cores). */
  pauseMs: number;
  /** The first attempt's share of the deadline when another gateway could take the retry; the whole deadline when unset. */
  perTryTimeoutMs?: number;
  path?: string;
  /** The part of the gathered answer under test: shown stale or missing, the read failed. Default `user`. */
  part?: string;
}

export interface LoadSummary {
  requests: number;
  failed: number;
  maxMs: number;
  p99Ms: number;
  attemptErrors: number;
  retried: number;
}

/**
 * An idempotent-read load on the gateways, balanced the way a load balancer in front of them
 * would: the gateway list comes from etcd (every gateway announces itself and withdraws first on
 * SIGTERM), a gateway that refused a connection, answered 5xx or did not answer within the per-try
 * timeout is avoided for a second, and a failed read is retried on another gateway while the
 * request's deadline allows. A 200 that
 * shows the user part stale or missing counts as a failure: the rider did not get a live answer
 * (other parts, e.g. trip activity with no trip service running, are not under test).
 */
export class GatewayLoad {
  readonly requests: LoadRequest[] = [];
  readonly attemptErrors: AttemptError[] = [];
  readonly #options: GatewayLoadOptions;
  readonly #avoidUntil = new Map<string, number>();
  readonly #part: string;
  #next = 0;
  #running = false;
  #workers: Promise<void>[] = [];

  constructor(options: GatewayLoadOptions) {
    this.#options = options;
    this.#part = options.part ?? 'user';
  }

  start(): void {
    this.#running = true;
    this.#workers = Array.from({ length: this.#options.concurrency }, (_, worker) => this.#work(worker));
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  /** Counts over the requests that started in [fromMs, toMs) (performance.now() times). */
  summary(fromMs = 0, toMs = Number.POSITIVE_INFINITY): LoadSummary {
    const window = this.requests.filter((request) => request.at >= fromMs && request.at < toMs);
    const sorted = window.map((request) => request.ms).sort((a, b) => a - b);
    return {
      requests: window.length,
      failed: window.filter((request) => !request.ok).length,
      maxMs: Math.round(sorted.at(-1) ?? 0),
      p99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0),
      attemptErrors: this.attemptErrors.filter((error) => error.at >= fromMs && error.at < toMs).length,
      retried: window.filter((request) => request.attempts > 1).length,
    };
  }

  #hasAnother(gateway: string): boolean {
    try {
      return this.#options.discovery.endpointsOf('gateway').some((url) => url !== gateway);
    } catch {
      return false;
    }
  }

  #pick(exclude: ReadonlySet<string>): string | undefined {
    let gateways: string[];
    try {
      gateways = this.#options.discovery.endpointsOf('gateway');
    } catch {
      return undefined;
    }
    const now = performance.now();
    const usable = gateways.filter((url) => !exclude.has(url) && (this.#avoidUntil.get(url) ?? 0) <= now);
    const from = usable.length > 0 ? usable : gateways.filter((url) => !exclude.has(url));
    if (from.length === 0) return undefined;
    return from[this.#next++ % from.length];
  }

  async #work(worker: number): Promise<void> {
    const { tokens, pauseMs } = this.#options;
    for (let turn = worker; this.#running; turn += this.#options.concurrency) {
      await this.#request(tokens[turn % tokens.length] as string);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }

  async #request(token: string): Promise<void> {
    const { deadlineMs, path = '/v1/me' } = this.#options;
    const at = performance.now();
    const deadline = at + deadlineMs;
    const tried = new Set<string>();
    let attempts = 0;
    let error = 'no gateway is registered';
    for (;;) {
      const gateway = this.#pick(tried);
      if (!gateway) break;
      tried.add(gateway);
      attempts++;
      const left = deadline - performance.now();
      if (left <= 0) break;
      // Envoy's per-try timeout: a gateway stalled (a process starting beside it takes the cores)
      // gets part of the budget, and the other gateway the rest.
      const tryMs = attempts === 1 && this.#hasAnother(gateway) ? Math.min(left, this.#options.perTryTimeoutMs ?? left) : left;
      try {
        const response = await fetch(`${gateway}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(Math.ceil(tryMs)) });
        const body = (await response.json().catch(() => undefined)) as { stale?: string[]; partial?: string[] } | undefined;
        if (response.status === 200 && body && !body.stale?.includes(this.#part) && !body.partial?.includes(this.#part)) {
          this.requests.push({ at, ms: performance.now() - at, ok: true, attempts });
          return;
        }
        error = response.status === 200 ? `200 with stale ${JSON.stringify(body?.stale)} partial ${JSON.stringify(body?.partial)}` : `${response.status} ${JSON.stringify(body)}`;
        // A gateway that is closing answers 503: take it out of the rotation like a failed readiness probe.
        if (response.status >= 500) this.#avoidUntil.set(gateway, performance.now() + 1_000);
        this.attemptErrors.push({ at: performance.now(), gateway, error });
        // Only failures a load balancer may retry: the gateway or what is behind it could not answer.
        if (response.status < 500) break;
      } catch (failure) {
        const cause = (failure as Error & { cause?: Error }).cause;
        error = `${(failure as Error).name}: ${cause?.message ?? (failure as Error).message}`;
        this.#avoidUntil.set(gateway, performance.now() + 1_000);
        this.attemptErrors.push({ at: performance.now(), gateway, error });
        if ((failure as Error).name === 'TimeoutError' && performance.now() >= deadline) break;
      }
    }
    this.requests.push({ at, ms: performance.now() - at, ok: false, attempts, error });
  }
}
