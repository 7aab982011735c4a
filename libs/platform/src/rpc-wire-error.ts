import { AppError, Unavailable, isCanonicalCode } from './errors.ts';

interface WireError {
  error?: { code?: unknown; reason?: unknown; message?: unknown; details?: unknown };
}

/**
 * Rebuilds the AppError a callee answered with from its `{error:{code,reason,message,details}}`
 * body. Both transports go through here, so an error reaches the caller the same way whether it
 * crossed a socket or not; a body without a canonical code is a broken downstream.
 */
export function errorFromWire(downstream: string, status: number, payload: unknown): AppError {
  const wire = (payload ?? {}) as WireError;
  const code = wire.error?.code;
  if (isCanonicalCode(code)) {
    const reason = typeof wire.error?.reason === 'string' ? wire.error.reason : code;
    const message = typeof wire.error?.message === 'string' ? wire.error.message : `${downstream} failed`;
    const details = typeof wire.error?.details === 'object' && wire.error.details !== null ? (wire.error.details as Record<string, unknown>) : {};
    return new AppError(code, reason, message, details);
  }
  return Unavailable('DOWNSTREAM_BAD_RESPONSE', `${downstream} answered ${status} without an error body`, { downstream, status });
}
