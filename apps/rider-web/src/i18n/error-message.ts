import { isApiError } from '@carshare/web-client';
import { format } from './format.ts';
import type { Messages } from './messages.ts';

/**
 * The sentence a rider reads for a failure: the code's own message, else one for its HTTP status
 * class, else the generic one naming the code. Never the server's English `message`, which is
 * written for developers and is not translated.
 */
export function errorMessage(messages: Messages, error: unknown): string {
  if (!isApiError(error)) return format(messages.errors.generic, { code: error instanceof Error ? error.name : 'ERROR' });
  const specific = messages.errors.codes[error.code];
  if (specific) return specific;
  const byStatus = messages.errors.byStatus;
  const status = error.status >= 500 ? byStatus['5xx'] : byStatus[String(error.status)];
  return format(status ?? messages.errors.generic, { code: error.code });
}
