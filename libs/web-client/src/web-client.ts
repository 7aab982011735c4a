import {
  authRoutes,
  idempotencyHeaders,
  idempotencyKeyOf,
  type HttpRouteContract,
  type RouteBody,
  type RouteParams,
  type RouteQuery,
  type RouteResponse,
} from '@carshare/contracts';
import { ApiError, apiErrorFrom, clientErrorCodes } from './api-error.ts';
import { MemoryTokenStore, type SessionTokens, type TokenStore } from './token-store.ts';

/** A key of the input that the route takes: required when its schema is there, absent otherwise. */
type Part<Key extends string, Value> = [Value] extends [undefined] ? { [K in Key]?: undefined } : { [K in Key]: Value };

/**
 * What one call takes, derived from the route's contract: `params`, `query` and `body` exist and
 * are typed exactly when the contract declares them, so a changed contract breaks the app's build.
 */
export type CallInput<Route extends HttpRouteContract> = Part<'params', RouteParams<Route>> &
  Part<'query', RouteQuery<Route>> &
  Part<'body', RouteBody<Route>> & {
    /**
     * Reuse the key of an earlier attempt of the same action (a rider pressing "start" again after
     * a network error): the API then answers the first attempt's result instead of acting twice.
     */
    idempotencyKey?: string;
    signal?: AbortSignal;
    /** This call's deadline; the client's default otherwise. */
    timeoutMs?: number;
  };

/** Why the session ended without the rider logging out: the app shows the login screen with this. */
export type SessionEndReason = 'expired' | 'revoked' | 'logged_out';

export interface WebClientOptions {
  /** Origin (and path prefix) of the API; '' for the page's own origin. */
  baseUrl?: string;
  /** Injected for tests and non-browser callers; the global `fetch` by default. */
  fetch?: typeof fetch;
  tokens?: TokenStore;
  /** Milliseconds; every request has a deadline (the gateway's own is longer). Default 15 s. */
  timeoutMs?: number;
  /** Refresh this long before the access token expires instead of waiting for a 401. Default 30 s. */
  refreshAheadMs?: number;
  now?: () => number;
  newIdempotencyKey?: () => string;
}

type LoginBody = RouteBody<typeof authRoutes.login>;
type LoginAnswer = RouteResponse<typeof authRoutes.login>;
type TokenPair = LoginAnswer['tokens'];

export interface WebClient {
  /** Calls one public route; resolves with its typed answer (null for 204) or throws ApiError. */
  call<Route extends HttpRouteContract>(route: Route, input: CallInput<Route>): Promise<RouteResponse<Route>>;
  /**
   * Calls a route whose answer is a file (a receipt's PDF): the same token, refresh and deadline
   * as `call`, the body as a Blob with its content type. A link cannot carry the bearer token, so
   * an app fetches the file this way and opens it from an object URL.
   */
  download<Route extends HttpRouteContract>(route: Route, input: CallInput<Route>): Promise<Blob>;
  /** Logs in and keeps the session's tokens for later calls. */
  logIn(body: LoginBody, options?: { signal?: AbortSignal }): Promise<LoginAnswer>;
  /** Ends the session on the server (best effort) and forgets it here. */
  logOut(): Promise<void>;
  /** True while tokens are held (they may still turn out revoked). */
  hasSession(): boolean;
  /** Called when the session ends; returns an unsubscribe function. */
  onSessionEnd(listener: (reason: SessionEndReason) => void): () => void;
  /** The current access token, refreshed first when it is about to expire (for a WebSocket's subprotocol). */
  accessToken(): Promise<string | undefined>;
}

const defaultTimeoutMs = 15_000;
const defaultRefreshAheadMs = 30_000;

/** 401 codes after which a refreshed access token may succeed; others mean the session is over or never was. */
const refreshableCodes = new Set(['TOKEN_EXPIRED']);
/** 401 codes of the refresh route itself: the refresh token is spent, so the session is over. */
const sessionOverCodes = new Set(['INVALID_REFRESH_TOKEN', 'REFRESH_TOKEN_REUSED', 'TOKEN_REVOKED']);

export function createWebClient(options: WebClientOptions = {}): WebClient {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  // Looked up at call time, not bound once: a test or polyfill may replace the global later.
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const tokens = options.tokens ?? new MemoryTokenStore();
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const refreshAheadMs = options.refreshAheadMs ?? defaultRefreshAheadMs;
  const now = options.now ?? (() => Date.now());
  const newKey = options.newIdempotencyKey ?? randomUuid;
  const listeners = new Set<(reason: SessionEndReason) => void>();
  // One refresh at a time: the refresh token is single use, so two parallel refreshes would
  // make the second look like a stolen token being replayed (REFRESH_TOKEN_REUSED).
  let refreshing: Promise<SessionTokens | undefined> | undefined;

  function endSession(reason: SessionEndReason): void {
    if (!tokens.load()) return;
    tokens.save(undefined);
    for (const listener of listeners) listener(reason);
  }

  function keep(pair: TokenPair): SessionTokens {
    const session = { accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAtMs: now() + pair.expiresIn * 1000 };
    tokens.save(session);
    return session;
  }

  async function send(route: HttpRouteContract, input: CallInputAny, accessToken: string | undefined, idempotencyKey: string | undefined, accept = 'application/json'): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (accessToken && route.access !== 'public') headers['authorization'] = `Bearer ${accessToken}`;
    if (idempotencyKey) headers[idempotencyHeaders.key] = idempotencyKey;
    let body: string | undefined;
    if (input.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(input.body);
    }
    const deadline = AbortSignal.timeout(input.timeoutMs ?? timeoutMs);
    const signal = input.signal ? AbortSignal.any([input.signal, deadline]) : deadline;
    try {
      return await doFetch(urlOf(baseUrl, route, input), { method: route.method, headers, ...(body === undefined ? {} : { body }), signal });
    } catch (error) {
      if (input.signal?.aborted) throw error;
      if (deadline.aborted) throw new ApiError({ status: 0, code: clientErrorCodes.timeout, message: `no answer within ${input.timeoutMs ?? timeoutMs} ms`, cause: error });
      throw new ApiError({ status: 0, code: clientErrorCodes.network, message: 'the server could not be reached', cause: error });
    }
  }

  async function read(response: Response): Promise<unknown> {
    if (response.status === 204) return null;
    const text = await response.text();
    if (text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }

  async function refresh(): Promise<SessionTokens | undefined> {
    refreshing ??= (async () => {
      const held = tokens.load();
      if (!held) return undefined;
      const response = await send(authRoutes.refresh, { body: { refreshToken: held.refreshToken } }, undefined, undefined);
      const body = await read(response);
      if (response.ok) return keep((body as RouteResponse<typeof authRoutes.refresh>).tokens);
      const error = apiErrorFrom(response.status, body, response.headers.get('retry-after'));
      // Spent or unknown refresh token: the session cannot come back. Anything else (the user
      // service down, a rate limit) leaves the tokens for a later try.
      if (response.status === 401 || sessionOverCodes.has(error.code)) endSession('expired');
      throw error;
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  async function currentAccessToken(): Promise<string | undefined> {
    const held = tokens.load();
    if (!held) return undefined;
    if (held.expiresAtMs - now() > refreshAheadMs) return held.accessToken;
    return (await refresh())?.accessToken;
  }

  async function call<Route extends HttpRouteContract>(route: Route, input: CallInput<Route>): Promise<RouteResponse<Route>> {
    const response = await authorised(route, input, 'application/json');
    const body = await read(response);
    if (body === undefined) throw new ApiError({ status: response.status, code: clientErrorCodes.unexpected, message: `the server answered ${response.status} without a JSON body` });
    return body as RouteResponse<Route>;
  }

  async function download<Route extends HttpRouteContract>(route: Route, input: CallInput<Route>): Promise<Blob> {
    const response = await authorised(route, input, '*/*');
    return response.blob();
  }

  /** Sends with the session's token (refreshed once on TOKEN_EXPIRED) and answers the first 2xx response; anything else throws. */
  async function authorised(route: HttpRouteContract, anyInput: CallInputAny, accept: string): Promise<Response> {
    const needsToken = route.access !== 'public';
    // One key for every attempt of this call, the retry after a refresh included: the server
    // may have acted on the first attempt before the token check of a later step failed.
    const key = idempotencyKeyOf(route) === undefined ? undefined : (anyInput.idempotencyKey ?? newKey());
    let accessToken = needsToken ? await currentAccessToken() : undefined;
    for (let attempt = 0; ; attempt += 1) {
      const response = await send(route, anyInput, accessToken, key, accept);
      if (response.ok) return response;
      const body = await read(response);
      const error = apiErrorFrom(response.status, body, response.headers.get('retry-after'));
      if (response.status === 401 && needsToken && accessToken) {
        if (attempt === 0 && refreshableCodes.has(error.code) && tokens.load()) {
          accessToken = (await refresh())?.accessToken;
          if (accessToken) continue;
        }
        endSession(error.code === 'TOKEN_REVOKED' ? 'revoked' : 'expired');
      }
      throw error;
    }
  }

  return {
    call,
    download,
    async logIn(body, callOptions = {}) {
      const answer = await call(authRoutes.login, { body, ...(callOptions.signal ? { signal: callOptions.signal } : {}) });
      keep(answer.tokens);
      return answer;
    },
    async logOut() {
      const held = tokens.load();
      if (!held) return;
      try {
        await call(authRoutes.logout, { body: { refreshToken: held.refreshToken } });
      } catch {
        // Logging out must work offline too: the refresh token is forgotten here either way and
        // expires on the server.
      } finally {
        endSession('logged_out');
      }
    },
    hasSession: () => tokens.load() !== undefined,
    onSessionEnd(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    accessToken: currentAccessToken,
  };
}

interface CallInputAny {
  params?: Record<string, string | number | undefined> | undefined;
  query?: Record<string, unknown> | undefined;
  body?: unknown;
  idempotencyKey?: string | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** `/v1/cars/:id` with `{ id }` → `/v1/cars/<id>`, plus the query string; a missing param is a programming error. */
export function urlOf(baseUrl: string, route: Pick<HttpRouteContract, 'url'>, input: Pick<CallInputAny, 'params' | 'query'>): string {
  const path = route.url.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = input.params?.[name];
    if (value === undefined || value === '') throw new TypeError(`${route.url}: missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(input.query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item as string | number | boolean));
  }
  const query = search.toString();
  return `${baseUrl}${path}${query ? `?${query}` : ''}`;
}

/**
 * A v4 UUID. `crypto.randomUUID` exists only in secure contexts (HTTPS or localhost); the app
 * opened over plain HTTP on a LAN address has `getRandomValues` alone.
 */
export function randomUuid(): string {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
