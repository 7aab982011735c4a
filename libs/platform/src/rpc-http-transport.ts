import type { Span, Tracing } from '@carshare/observability';
import type * as UndiciModule from 'undici';
import type { Pool } from 'undici';
import type { CallContext } from './call-context.ts';
import type { CanaryWeight, Discovery } from './discovery.ts';
import { AppError, Unavailable } from './errors.ts';
import { headerNames } from './headers.ts';
import { OutlierDetector, type OutlierDetectionSettings } from './outlier-detector.ts';
import { FramedRpcConnection, type FramedRpcConnectionOptions } from './rpc-framed-connection.ts';
import { rpcPath } from './rpc-path.ts';
import { serviceIdentityHeader } from './rpc-service-identity.ts';
import type { RpcAttempts, RpcTransport } from './rpc-transport.ts';
import { errorFromWire } from './rpc-wire-error.ts';

const badBody = Symbol('unreadable body');

export interface HttpRpcTransportOptions {
  discovery: Discovery;
  tracing: Tracing;
  connectionsPerEndpoint?: number;
  outlierDetection?: Partial<OutlierDetectionSettings>;
  now?: () => number;
  /** The canary of this downstream now, if any (read per call: central config may change it). */
  canary?: (downstream: string) => CanaryWeight | undefined;
  /**
   * `framed` (ADR 0029): calls go as frames on one upgraded connection per endpoint, on the same
   * port; an endpoint that refuses the upgrade (an older version) is called over HTTP. Default `http`.
   */
  wire?: 'http' | 'framed';
  /** The framed connections' settings (rpc-framed-connection.ts). */
  framed?: FramedRpcConnectionOptions;
}

export type { CanaryWeight } from './discovery.ts';

type Undici = typeof UndiciModule;
let undiciLoading: Promise<Undici> | undefined;
/**
 * undici is loaded by the first call over HTTP: `carshare up` calls in process and the framed wire
 * needs none of it, and evaluating its ~1 MB cost ~60 ms of every `npm start` (issue 9, start-up).
 */
function loadUndici(): Promise<Undici> {
  undiciLoading ??= import('undici');
  return undiciLoading;
}

/**
 * RPC over HTTP/1.1 (`POST /rpc/<service>/<Method>`, JSON), one undici Pool per endpoint taken in
 * turn. The endpoints are read from discovery on every call (an array it keeps while nothing
 * changes), so instances that join or leave (DNS, etcd) are used or dropped at once; the pool of
 * an endpoint that left is closed once its in-flight requests finish. An endpoint that keeps
 * failing (connection errors, 5xx) is ejected from the rotation for a while (outlier-detector.ts).
 * A canary weight sends that share of the calls to the instances of one version (a rollout), the
 * rest to the others, whatever their numbers.
 *
 * Metadata travels in headers: the remaining budget, the request id, `traceparent` of the client
 * span and the calling service's signed identity, which names the end user (ADR 0012). The
 * caller's signal cancels the request: no timer here.
 *
 * With `wire: 'framed'` (ADR 0029) the same endpoints are called on one upgraded connection each
 * (rpc-framed-connection.ts), the metadata in each frame; HTTP stays for an endpoint while its
 * connection opens and for one that refuses the upgrade.
 */
export class HttpRpcTransport implements RpcTransport {
  readonly kind: 'http' | 'framed';
  readonly #downstream: string;
  readonly #tracing: Tracing;
  readonly #discovery: Discovery;
  readonly #connections: number;
  readonly #pools = new Map<string, Pool>();
  readonly #framed = new Map<string, FramedRpcConnection>();
  /** Endpoints that refused the framed upgrade: called over HTTP until they leave discovery. */
  readonly #httpOnly = new Set<string>();
  readonly #framedOptions: FramedRpcConnectionOptions | undefined;
  readonly #outliers: OutlierDetector;
  readonly #canary: HttpRpcTransportOptions['canary'];
  #knownEndpoints: readonly string[] = [];
  #nextPool = 0;
  /** The endpoints split by the canary's version, for the endpoint list and version they were made from. */
  #split: { endpoints: readonly string[]; version: string; canary: string[]; stable: string[] } | undefined;
  /** Smooth weighting: each call adds the canary's percent; a call that takes it to 100 goes to the canary. */
  #canaryCredit = 0;

  constructor(downstream: string, options: HttpRpcTransportOptions) {
    this.#downstream = downstream;
    this.#tracing = options.tracing;
    this.#discovery = options.discovery;
    this.#connections = options.connectionsPerEndpoint ?? 32;
    this.kind = options.wire ?? 'http';
    this.#framedOptions = options.framed;
    this.#outliers = new OutlierDetector(options.outlierDetection, options.now);
    // Central config's rollout (etcd discovery keeps it beside the versions) unless the caller chose one.
    this.#canary = options.canary ?? (options.discovery.canaryOf && ((service) => options.discovery.canaryOf?.(service)));
  }

  /** The endpoints this call chooses among: all of them, or the canary's or the stable ones. */
  #candidates(endpoints: string[]): readonly string[] {
    const canary = this.#canary?.(this.#downstream);
    if (!canary || canary.percent <= 0 || !this.#discovery.instancesOf) return endpoints;
    if (this.#split?.endpoints !== endpoints || this.#split.version !== canary.version) {
      const instances = this.#discovery.instancesOf(this.#downstream);
      const canaryUrls = new Set(instances.filter((instance) => instance.version === canary.version).map((instance) => instance.url));
      this.#split = { endpoints, version: canary.version, canary: endpoints.filter((url) => canaryUrls.has(url)), stable: endpoints.filter((url) => !canaryUrls.has(url)) };
    }
    const { canary: canaryUrls, stable } = this.#split;
    if (canaryUrls.length === 0 || stable.length === 0) return endpoints;
    this.#canaryCredit += Math.min(canary.percent, 100);
    if (this.#canaryCredit >= 100) {
      this.#canaryCredit -= 100;
      return canaryUrls;
    }
    return stable;
  }

  #nextEndpoint(avoid: string | undefined): string {
    // Throws SERVICE_NOT_DISCOVERED (503) when the service has no instance right now.
    const endpoints = this.#discovery.endpointsOf(this.#downstream);
    if (endpoints !== this.#knownEndpoints) {
      this.#knownEndpoints = endpoints;
      this.#outliers.retain(endpoints, this.#discovery.instancesOf?.(this.#downstream));
      for (const [url, pool] of this.#pools) {
        if (endpoints.includes(url)) continue;
        this.#pools.delete(url);
        void pool.close().catch(() => undefined);
      }
      for (const [url, connection] of this.#framed) {
        if (endpoints.includes(url)) continue;
        this.#framed.delete(url);
        this.#httpOnly.delete(url);
        connection.closeWhenIdle();
      }
    }
    let candidates = endpoints.length === 1 ? endpoints : this.#candidates(endpoints);
    if (avoid !== undefined && endpoints.length > 1) {
      // A retry goes elsewhere (Envoy's previous-hosts predicate): round-robin alone lands on the
      // endpoint that just failed whenever other calls moved the rotation on by a whole turn.
      const others = candidates.filter((candidate) => candidate !== avoid);
      candidates = others.length > 0 ? others : endpoints.filter((candidate) => candidate !== avoid);
    }
    return candidates.length === 1 ? (candidates[0] as string) : this.#outliers.pick(candidates, this.#nextPool++);
  }

  /** A pool for an endpoint that has none yet: only then is undici awaited (loaded once). */
  async #openPool(url: string): Promise<Pool> {
    const undici = await loadUndici();
    // Calls that started together all waited: the first to get here opens the pool.
    let pool = this.#pools.get(url);
    if (!pool) this.#pools.set(url, (pool = new undici.Pool(url, { connections: this.#connections, keepAliveTimeout: 30_000 })));
    return pool;
  }

  /**
   * The open connection to `url`, or undefined while it opens (a new one when the last one ended)
   * or when the endpoint does not take the upgrade: those calls go over HTTP, so no call ever waits
   * for a handshake, nor hangs on a proxy that never answers one.
   */
  #framedOf(url: string): FramedRpcConnection | undefined {
    if (this.#httpOnly.has(url)) return undefined;
    const connection = this.#framed.get(url);
    if (connection?.state === 'open') return connection;
    // At most one handshake a second to an endpoint whose last one failed: one that is down gets
    // its HTTP attempts from the calls, not a connection attempt more with each of them.
    if (connection === undefined || (connection.state === 'closed' && performance.now() - connection.endedAt >= 1_000)) this.#framed.set(url, new FramedRpcConnection(url, this.#framedOptions));
    else if (connection.state === 'refused') {
      // An older callee, or a proxy on the way that does not pass upgrades: HTTP until it leaves discovery.
      this.#httpOnly.add(url);
      this.#framed.delete(url);
    }
    return undefined;
  }

  async send(method: string, input: unknown, ctx: CallContext, span: Span, signal: AbortSignal, remainingMs: number, identity: string, attempts?: RpcAttempts): Promise<unknown> {
    const url = this.#nextEndpoint(attempts?.lastEndpoint);
    if (attempts) attempts.lastEndpoint = url;
    const connection = this.kind === 'framed' ? this.#framedOf(url) : undefined;
    if (connection) return this.#sendFramed(connection, url, method, input, ctx, span, signal, remainingMs, identity);
    return this.#sendHttp(url, method, input, ctx, span, signal, remainingMs, identity);
  }

  async #sendFramed(
    connection: FramedRpcConnection,
    url: string,
    method: string,
    input: unknown,
    ctx: CallContext,
    span: Span,
    signal: AbortSignal,
    remainingMs: number,
    identity: string,
  ): Promise<unknown> {
    const downstream = this.#downstream;
    const meta = JSON.stringify([downstream, method, remainingMs, ctx.requestId, this.#tracing.traceparentOf(span) ?? null, identity]);
    let answer: Awaited<ReturnType<FramedRpcConnection['call']>>;
    try {
      answer = await connection.call(meta, JSON.stringify(input) ?? '', signal);
    } catch (error) {
      // Our own deadline, the caller's cancel or our own refusal (a body over the callee's limit) say nothing about the endpoint.
      if (!signal.aborted && !(error instanceof AppError)) this.#outliers.failed(url, this.#knownEndpoints);
      throw error;
    }
    if (answer.status >= 500) this.#outliers.failed(url, this.#knownEndpoints);
    else this.#outliers.succeeded(url);
    let payload: unknown = badBody;
    try {
      payload = JSON.parse(answer.body) as unknown;
    } catch {
      // Judged below: an unreadable 200 is a broken downstream, an unreadable error has no body.
    }
    return this.#answerOf(method, answer.status, payload);
  }

  #answerOf(method: string, status: number, payload: unknown): unknown {
    const downstream = this.#downstream;
    if (status === 200) {
      // A 200 whose body was cut or is not JSON is a broken downstream, not an answer: it must
      // count against the breaker and never reach a caller as `undefined`.
      if (payload === badBody) throw Unavailable('DOWNSTREAM_BAD_RESPONSE', `${downstream}.${method} sent an unreadable answer`, { downstream, method });
      return payload;
    }
    throw errorFromWire(downstream, status, payload === badBody ? undefined : payload);
  }

  async #sendHttp(url: string, method: string, input: unknown, ctx: CallContext, span: Span, signal: AbortSignal, remainingMs: number, identity: string): Promise<unknown> {
    const downstream = this.#downstream;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [headerNames.deadline]: String(remainingMs),
      [headerNames.requestId]: ctx.requestId,
      [serviceIdentityHeader]: identity,
    };
    const traceparent = this.#tracing.traceparentOf(span);
    if (traceparent) headers[headerNames.traceparent] = traceparent;
    const pool = this.#pools.get(url) ?? (await this.#openPool(url));
    let response: Awaited<ReturnType<Pool['request']>>;
    try {
      response = await pool.request({ path: rpcPath(downstream, method), method: 'POST', headers, body: JSON.stringify(input), signal });
    } catch (error) {
      // Our own deadline or the caller's cancel says nothing about the endpoint.
      if (!signal.aborted) this.#outliers.failed(url, this.#knownEndpoints);
      throw error;
    }
    if (response.statusCode >= 500) this.#outliers.failed(url, this.#knownEndpoints);
    else this.#outliers.succeeded(url);
    const payload: unknown = await response.body.json().catch(() => badBody);
    return this.#answerOf(method, response.statusCode, payload);
  }

  /**
   * With the framed wire, opens the connections to every endpoint discovery lists now and resolves
   * once each is open or known not to be (refused, unreachable): calls from then on need not go
   * over HTTP while a handshake runs. Without it, or with no endpoint known, nothing to do.
   */
  async connect(): Promise<void> {
    if (this.kind !== 'framed') return;
    let endpoints: string[];
    try {
      endpoints = this.#discovery.endpointsOf(this.#downstream);
    } catch {
      return;
    }
    for (const url of endpoints) this.#framedOf(url);
    const opening = endpoints.flatMap((url) => this.#framed.get(url)?.settled ?? []);
    await Promise.all(opening);
  }

  async close(): Promise<void> {
    for (const connection of this.#framed.values()) connection.close();
    this.#framed.clear();
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
  }
}
