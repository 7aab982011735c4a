import { AppError, httpStatusOf, type CanonicalCode, type ErrorDetails } from './errors.ts';

/** The body every error response has, on the public API and between services. */
export interface ErrorBody {
  error: {
    /** Public API: the domain reason (`USER_NOT_FOUND`); RPC: the canonical code. */
    code: string;
    /** RPC only: the domain reason, so the gateway can show it. */
    reason?: string;
    message: string;
    details: ErrorDetails;
    traceId: string;
  };
}

export type ErrorStyle = 'public' | 'rpc';

export interface RenderedError {
  status: number;
  body: ErrorBody;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
  validation?: { instancePath?: string; message?: string; keyword?: string; params?: unknown }[];
  validationContext?: string;
}

const frameworkReasons: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'EMPTY_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_ASYNC_CONSTRAINT: 'BAD_REQUEST',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
};

function canonicalForStatus(status: number): CanonicalCode {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'FAILED_PRECONDITION';
  if (status === 429) return 'RESOURCE_EXHAUSTED';
  return 'INVALID_ARGUMENT';
}

function render(style: ErrorStyle, code: CanonicalCode, reason: string, message: string, details: ErrorDetails, traceId: string) {
  return style === 'public'
    ? { error: { code: reason, message, details, traceId } }
    : { error: { code, reason, message, details, traceId } };
}

/**
 * Maps anything thrown while handling a request to a status and body. Returns `internal: true`
 * when the error was not one we expected, so the caller logs it once with its stack.
 */
export function renderError(error: unknown, style: ErrorStyle, traceId: string): RenderedError & { internal: boolean } {
  if (error instanceof AppError) {
    return {
      status: httpStatusOf(error.code),
      body: render(style, error.code, error.reason, error.message, error.details, traceId),
      internal: false,
    };
  }
  const framework = error as FastifyLikeError;
  if (framework && Array.isArray(framework.validation)) {
    const problems = framework.validation.map((problem) => ({
      path: problem.instancePath || '/',
      message: problem.message ?? problem.keyword ?? 'invalid',
    }));
    return {
      status: 400,
      body: render(style, 'INVALID_ARGUMENT', 'VALIDATION_FAILED', `invalid ${framework.validationContext ?? 'request'}`, {
        part: framework.validationContext ?? 'body',
        problems,
      }, traceId),
      internal: false,
    };
  }
  const status = framework?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const reason = (framework.code && frameworkReasons[framework.code]) ?? 'BAD_REQUEST';
    return {
      status,
      body: render(style, canonicalForStatus(status), reason, framework.message, {}, traceId),
      internal: false,
    };
  }
  return {
    status: 500,
    body: render(style, 'INTERNAL', 'INTERNAL', 'internal error; quote the trace id when reporting it', {}, traceId),
    internal: true,
  };
}
