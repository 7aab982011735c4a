import { AppError, DeadlineExceeded, ResourceExhausted, Unavailable } from '@carshare/platform';
import { BrokenCircuitError, BulkheadRejectedError, IsolatedCircuitError, TaskCancelledError } from 'cockatiel';

// Socket-level failures from node:net and undici: the request may never have reached the
// downstream, or the downstream died mid-answer. Both say something about its health.
const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

export function isNetworkError(error: unknown): boolean {
  if (networkErrorCodes.has(errorCode(error) as string)) return true;
  // undici's fetch wraps the socket error: TypeError('fetch failed', { cause })
  const cause = error instanceof Error ? error.cause : undefined;
  return cause !== undefined && networkErrorCodes.has(errorCode(cause) as string);
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** What the breaker counts: the downstream is down, slow or broken. Client faults never count. */
export function isDownstreamFault(error: unknown): boolean {
  if (error instanceof AppError) {
    return error.code === 'UNAVAILABLE' || error.code === 'DEADLINE_EXCEEDED' || error.code === 'INTERNAL';
  }
  return isNetworkError(error) || isAbortError(error);
}

/**
 * What the retry loop may try again. Our own fail-fast rejections are excluded on purpose:
 * retrying into an open circuit or a full bulkhead only adds load where there is none to spare.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof AppError) {
    if (error.reason === 'CIRCUIT_OPEN' || error.reason === 'BULKHEAD_FULL') return false;
    return error.code === 'UNAVAILABLE' || error.code === 'DEADLINE_EXCEEDED' || error.code === 'ABORTED';
  }
  return isNetworkError(error);
}

export function deadlineExceeded(downstream: string, cause?: unknown): AppError {
  return DeadlineExceeded(
    'DEADLINE_EXCEEDED',
    `deadline exceeded calling ${downstream}`,
    { downstream },
    cause === undefined ? undefined : { cause },
  );
}

export function circuitOpen(downstream: string, retryAfterMs: number): AppError {
  return Unavailable('CIRCUIT_OPEN', `circuit to ${downstream} is open`, { downstream, retryAfterMs });
}

export function bulkheadFull(downstream: string, limits: { maxConcurrent: number; maxQueued: number } | undefined): AppError {
  return ResourceExhausted('BULKHEAD_FULL', `too many calls in flight to ${downstream}`, { downstream, ...limits });
}

/**
 * One place that turns whatever an attempt threw into what callers see: cockatiel's own errors
 * and raw aborts become our canonical kinds; AppErrors from the downstream pass unchanged.
 */
export function toDownstreamError(error: unknown, downstream: string, signal: AbortSignal): unknown {
  if (error instanceof AppError) return error;
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) return circuitOpen(downstream, 0);
  if (error instanceof BulkheadRejectedError) return bulkheadFull(downstream, undefined);
  if (error instanceof TaskCancelledError || signal.aborted || isAbortError(error)) return deadlineExceeded(downstream, error);
  return error;
}
