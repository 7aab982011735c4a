/**
 * Codes the client itself gives to failures that never reached the API's error shape: no answer at
 * all, an answer after the deadline, or an answer that is not `{ error: { … } }` (a proxy's HTML
 * page, a truncated body). The apps map these like any API code, so every failure has a message.
 */
export const clientErrorCodes = {
  network: 'NETWORK_ERROR',
  timeout: 'REQUEST_TIMEOUT',
  unexpected: 'UNEXPECTED_RESPONSE',
} as const;

export interface ApiErrorInit {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  traceId?: string;
  /** Seconds from `Retry-After` (429, 503): when asking again may succeed. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * The API's `{ error: { code, message, details, traceId } }` as a thrown value. `status` is 0 when
 * no HTTP answer arrived. Code is what the UI switches on; the trace id is what a rider quotes.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly traceId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.traceId = init.traceId;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The typed error for a non-2xx answer whose body was read as `body` (undefined when it was not JSON). */
export function apiErrorFrom(status: number, body: unknown, retryAfter: string | null): ApiError {
  const retryAfterSeconds = parseRetryAfter(retryAfter);
  const error = isRecord(body) ? body['error'] : undefined;
  if (isRecord(error) && typeof error['code'] === 'string' && typeof error['message'] === 'string') {
    return new ApiError({
      status,
      code: error['code'],
      message: error['message'],
      details: isRecord(error['details']) ? error['details'] : {},
      ...(typeof error['traceId'] === 'string' ? { traceId: error['traceId'] } : {}),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  return new ApiError({
    status,
    code: clientErrorCodes.unexpected,
    message: `the server answered ${status} without the API's error shape`,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

/** `Retry-After` is delta-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
