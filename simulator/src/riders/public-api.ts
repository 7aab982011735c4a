/** An error answer of the public API (`{ error: { code, message, details } }`), or a transport failure (status 0). */
export class PublicApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'PublicApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /**
   * Worth the same call again later with the same Idempotency-Key: the platform did not say no,
   * it could not answer (outage, deadline, a saga still running, rate limit).
   */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429 || this.code === 'SAGA_IN_PROGRESS' || this.code === 'TRIP_FINISH_IN_PROGRESS' || this.code === 'IDEMPOTENCY_KEY_IN_USE';
  }
}

export interface ApiCall {
  token?: string | undefined;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  idempotencyKey?: string;
}

/**
 * The gateway's public API as a rider's app (or an operator's back office) calls it: JSON over
 * HTTP with a bearer token, nothing else. Non-2xx answers become {@link PublicApiError} with the
 * platform's error code, so callers decide on codes, not on message text.
 */
export class PublicApi {
  readonly baseUrl: string;
  readonly #timeoutMs: number;

  constructor(options: { apiUrl: string; timeoutMs?: number }) {
    this.baseUrl = options.apiUrl;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  async call<T>(method: string, path: string, options: ApiCall = {}): Promise<T> {
    const url = new URL(path, this.baseUrl);
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new PublicApiError(0, 'UNREACHABLE', `${method} ${url.pathname} did not answer: ${cause}`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok) return body as T;
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    throw new PublicApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
      `${method} ${url.pathname} answered ${response.status}: ${typeof error?.message === 'string' ? error.message : text.slice(0, 200)}`,
      typeof error?.details === 'object' && error.details !== null ? (error.details as Record<string, unknown>) : {},
    );
  }

  /** A PUT of raw bytes to an upload URL the platform signed (relative to the gateway or absolute). */
  async upload(target: { url: string; method: string; headers: Record<string, string> }, bytes: Uint8Array): Promise<void> {
    let response: Response;
    try {
      response = await fetch(new URL(target.url, this.baseUrl), { method: target.method, headers: target.headers, body: bytes, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      throw new PublicApiError(0, 'UNREACHABLE', `upload did not answer: ${(error as Error).name}`);
    }
    if (!response.ok) throw new PublicApiError(response.status, `HTTP_${response.status}`, `upload answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    await response.arrayBuffer();
  }
}

/** Logged in as someone, with the session renewed by logging in again when the token is refused. */
export class ApiSession {
  readonly api: PublicApi;
  readonly email: string;
  readonly #password: string;
  #token: Promise<{ token: string; userId: string }> | undefined;

  constructor(api: PublicApi, credentials: { email: string; password: string }) {
    this.api = api;
    this.email = credentials.email;
    this.#password = credentials.password;
  }

  async userId(): Promise<string> {
    return (await this.#login()).userId;
  }

  /** The call with this session's token; a 401 (expired token) logs in once more and repeats it. */
  async call<T>(method: string, path: string, options: Omit<ApiCall, 'token'> = {}): Promise<T> {
    const { token } = await this.#login();
    try {
      return await this.api.call<T>(method, path, { ...options, token });
    } catch (error) {
      if (!(error instanceof PublicApiError) || error.status !== 401) throw error;
      this.#token = undefined;
      return this.api.call<T>(method, path, { ...options, token: (await this.#login()).token });
    }
  }

  #login(): Promise<{ token: string; userId: string }> {
    this.#token ??= this.api
      .call<{ tokens: { accessToken: string }; user: { id: string } }>('POST', '/v1/auth/login', { body: { email: this.email, password: this.#password } })
      .then((session) => ({ token: session.tokens.accessToken, userId: session.user.id }))
      .catch((error: unknown) => {
        this.#token = undefined;
        throw error;
      });
    return this.#token;
  }
}
