import { isAppError } from '@carshare/platform';

export interface ErrorSummary {
  name: string;
  message: string;
  /** Canonical code and domain reason when the handler threw an AppError. */
  code?: string;
  reason?: string;
  stack?: string;
}

const maxStackLength = 4000;

export function describeError(error: unknown): ErrorSummary {
  if (isAppError(error)) {
    return { name: error.name, message: error.message, code: error.code, reason: error.reason, stack: error.stack?.slice(0, maxStackLength) };
  }
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack?.slice(0, maxStackLength) };
  }
  return { name: 'NonError', message: String(error) };
}
