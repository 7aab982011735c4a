/**
 * Error kinds shared by every service. A use case throws one of these; the RPC layer carries
 * the canonical code between services and the gateway maps it to an HTTP status once.
 */
export const canonicalCodes = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'FAILED_PRECONDITION',
  'ABORTED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
] as const;

export type CanonicalCode = (typeof canonicalCodes)[number];

const httpStatusByCode: Record<CanonicalCode, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  ABORTED: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
};

export function httpStatusOf(code: CanonicalCode): number {
  return httpStatusByCode[code];
}

export function isCanonicalCode(value: unknown): value is CanonicalCode {
  return typeof value === 'string' && (canonicalCodes as readonly string[]).includes(value);
}

export type ErrorDetails = Record<string, unknown>;

/**
 * `reason` is the domain-specific code shown to clients (`TRIP_NOT_FOUND`); `code` is the
 * canonical kind that decides status, retryability and breaker accounting.
 */
export class AppError extends Error {
  readonly code: CanonicalCode;
  readonly reason: string;
  readonly details: ErrorDetails;

  constructor(code: CanonicalCode, reason: string, message: string, details: ErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }
}

type ErrorFactory = (reason: string, message: string, details?: ErrorDetails, options?: ErrorOptions) => AppError;

function kind(code: CanonicalCode): ErrorFactory {
  return (reason, message, details, options) => new AppError(code, reason, message, details, options);
}

export const InvalidArgument = kind('INVALID_ARGUMENT');
export const NotFound = kind('NOT_FOUND');
export const AlreadyExists = kind('ALREADY_EXISTS');
export const Conflict = kind('FAILED_PRECONDITION');
export const Aborted = kind('ABORTED');
export const Unauthenticated = kind('UNAUTHENTICATED');
export const PermissionDenied = kind('PERMISSION_DENIED');
export const ResourceExhausted = kind('RESOURCE_EXHAUSTED');
export const Unavailable = kind('UNAVAILABLE');
export const DeadlineExceeded = kind('DEADLINE_EXCEEDED');
export const Internal = kind('INTERNAL');

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
