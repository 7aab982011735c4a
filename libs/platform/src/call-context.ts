import { isStaff } from '@carshare/contracts';
import type { Logger, Span } from '@carshare/observability';

export const roles = ['rider', 'operator', 'admin'] as const;
export type Role = (typeof roles)[number];

/**
 * The authenticated end user a request acts for. Between services it travels in the calling
 * service's signed identity (ADR 0012), never as the access token itself.
 */
export interface Caller {
  userId: string;
  role: Role;
  plan: string;
  /** The end user's access token: present only where the caller was read from it (the gateway). */
  token?: string;
  /** The login session the token belongs to (`sid` claim), when the issuer says: revocation is per session. */
  sessionId?: string;
  /** When the token was issued (`iat`): a user-wide revocation refuses every token issued before it. */
  issuedAtMs?: number;
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

/**
 * A request's context with a shorter deadline (a part of a scatter-gather with its own budget).
 * A class with plain fields and prototype getters, never `Object.create(ctx)`: making the request's
 * context a prototype had V8 keep every `/v1/me` request alive across scavenges (~6 KB promoted to
 * old space per request, DESIGN.md §5). The request id, span and caller are plain copies; the
 * signal and the logger stay the parent's (one deadline timer, one lazy logger per request).
 */
export class DeadlineCallContext implements CallContext {
  readonly requestId: string;
  readonly deadline: number;
  readonly span: Span;
  caller: Caller | undefined;
  private readonly parent: CallContext;

  constructor(parent: CallContext, deadline: number) {
    this.requestId = parent.requestId;
    this.deadline = deadline;
    this.span = parent.span;
    this.caller = parent.caller;
    this.parent = parent;
  }

  get signal(): AbortSignal {
    return this.parent.signal;
  }

  get log(): Logger {
    return this.parent.log;
  }
}
