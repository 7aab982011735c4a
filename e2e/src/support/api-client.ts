export interface ApiResponse<Body = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON (or empty). */
  body: Body;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
}

export interface ApiClient {
  readonly baseUrl: string;
  call<Body = any>(method: string, path: string, options?: CallOptions): Promise<ApiResponse<Body>>;
}

/** A thin fetch wrapper for the public API: JSON in, JSON out, statuses left to the test. */
export function createApiClient(baseUrl: string): ApiClient {
  return {
    baseUrl,
    async call(method, path, options = {}) {
      const url = new URL(path, baseUrl);
      for (const [name, value] of Object.entries(options.query ?? {})) {
        if (value !== undefined) url.searchParams.set(name, String(value));
      }
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['content-type'] ??= 'application/json';
      if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
          signal: AbortSignal.timeout(15_000),
        });
      } catch (error) {
        // fetch's own errors print as `{}` in the test report; say which call failed and why.
        const cause = error as Error & { cause?: { code?: string; message?: string } };
        throw new Error(`${method} ${url.pathname} failed: ${cause.name}: ${cause.cause?.code ?? cause.cause?.message ?? cause.message}`, { cause: error });
      }
      const text = await response.text();
      let body: unknown = text;
      if (text !== '' && (response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
      return { status: response.status, headers: response.headers, body: body as never, text };
    },
  };
}
