import { isStaff } from '@carshare/contracts';
import type { Logger, Span } from '@carshare/observability';

export const roles = ['rider', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/** The authenticated end user a request acts for; `token` travels on to downstream services. */
export interface Caller {
  userId: string;
  role: Role;
  plan: string;
  token: string;
}

/**
 * Everything a request carries through the system: one deadline (with the one timer that
 * enforces it behind `signal`), its trace span, its request id, its logger and its caller.
 */
export interface CallContext {
  readonly requestId: string;
  /** Epoch ms after which nobody is waiting for the answer any more. */
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly span: Span;
  readonly log: Logger;
  caller: Caller | undefined;
}

export function isOperator(caller: Caller | undefined): boolean {
  return caller !== undefined && isStaff(caller.role);
}
