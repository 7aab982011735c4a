import { setTimeout as sleep } from 'node:timers/promises';

/**
 * - `me`: GET /v1/me as the rider: needs the user service, may answer from the last good copy.
 * - `user-direct`: GET /v1/admin/users/:id as the operator: needs the user service and has no
 *   fallback, so it shows what the breaker answers (503 CIRCUIT_OPEN) instead of hiding it.
 * - `healthy`: GET /v1/admin/faults as the operator: the gateway alone, must not notice the fault.
 */
export type RouteName = 'me' | 'user-direct' | 'healthy';

export const userDependentRoutes: readonly RouteName[] = ['me', 'user-direct'];

/**
 * What a request came back with: `fresh` (live 200), `stale` / `partial` (200 from the fallback),
 * `ok` (200 of a route without parts), the error code of an error body, `NO_ANSWER` when the
 * client gave up or the connection failed, `UNPARSED` when the body was not the contract's.
 */
export type Outcome = 'fresh' | 'stale' | 'partial' | 'ok' | 'NO_ANSWER' | 'UNPARSED' | (string & {});

export interface Sample {
  route: RouteName;
  /** ms since the drill began. */
  start: number;
  latencyMs: number;
  /** 0 when no HTTP answer came. */
  status: number;
  outcome: Outcome;
}

export interface LoadTarget {
  route: RouteName;
  path: string;
  token: string;
  workers: number;
}

export interface LoadOptions {
  baseUrl: string;
  targets: readonly LoadTarget[];
  paceMs: number;
  maxRequestsPerWorker: number;
  /** Hard stop even if nobody calls `stop()`. */
  maxDurationMs: number;
  /** The client's own bound: far past the gateway's deadline, so a late answer is measured, not cut. */
  clientTimeoutMs: number;
  /** performance.now() of the drill's start; sample times are relative to it. */
  epoch: number;
}

export interface LoadRun {
  readonly samples: readonly Sample[];
  stop(): Promise<void>;
}

function outcomeOf(route: RouteName, status: number, text: string): Outcome {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'UNPARSED';
  }
  if (status === 200) {
    if (route !== 'me') return 'ok';
    const me = body as { user?: unknown; stale?: unknown; partial?: unknown };
    if (!Array.isArray(me.stale) || !Array.isArray(me.partial)) return 'UNPARSED';
    if (me.partial.includes('user')) return 'partial';
    if (me.stale.includes('user')) return me.user ? 'stale' : 'UNPARSED';
    return typeof me.user === 'object' && me.user !== null ? 'fresh' : 'UNPARSED';
  }
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  return typeof code === 'string' ? code : 'UNPARSED';
}

/**
 * A few concurrent workers per route, each sending one request at a time with a pause between,
 * to 127.0.0.1 only. Bounded by `maxRequestsPerWorker` and `maxDurationMs` as well as by `stop()`.
 */
export function startLoad(options: LoadOptions): LoadRun {
  const target = new URL(options.baseUrl);
  if (target.hostname !== '127.0.0.1') throw new Error(`the load loop only targets 127.0.0.1, not ${target.hostname}`);
  const samples: Sample[] = [];
  const stopAt = performance.now() + options.maxDurationMs;
  let stopped = false;

  async function worker(spec: LoadTarget): Promise<void> {
    const url = new URL(spec.path, options.baseUrl);
    for (let sent = 0; sent < options.maxRequestsPerWorker && !stopped && performance.now() < stopAt; sent += 1) {
      const begun = performance.now();
      let status = 0;
      let outcome: Outcome = 'NO_ANSWER';
      try {
        const response = await fetch(url, {
          headers: { authorization: `Bearer ${spec.token}` },
          signal: AbortSignal.timeout(options.clientTimeoutMs),
        });
        const text = await response.text();
        status = response.status;
        outcome = outcomeOf(spec.route, status, text);
      } catch {
        // Timed out, reset or refused: recorded as no answer, which every check counts as a failure.
      }
      const ended = performance.now();
      samples.push({ route: spec.route, start: begun - options.epoch, latencyMs: ended - begun, status, outcome });
      await sleep(options.paceMs);
    }
  }

  const running = options.targets.flatMap((spec) => Array.from({ length: spec.workers }, () => worker(spec)));
  const all = Promise.all(running);
  return {
    samples,
    async stop() {
      stopped = true;
      await all;
    },
  };
}
