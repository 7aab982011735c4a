import { UserRoleChanged, UserSessionsRevoked, UserSuspended, isStaff, type Access, type EventEnvelope, type userRpc } from '@carshare/contracts';
import type { Logger } from '@carshare/observability';
import { AppError, PermissionDenied, Unauthenticated, type CallContext, type Role, type RpcClient, type VerifiedCaller } from '@carshare/platform';
import { DenyList } from '../domain/deny-list.ts';

/** The events that end sessions or change what a token's role claim is worth. */
export const sessionEventTypes = [UserSessionsRevoked.type, UserRoleChanged.type, UserSuspended.type] as const;

export interface SessionCheck {
  /**
   * Refuses a revoked token (401 TOKEN_REVOKED), and for staff routes a caller whose current
   * role or status (not the token's claim alone) no longer allows it (403).
   */
  assertAllowed(caller: VerifiedCaller, access: Access, ctx: CallContext): Promise<void>;
}

interface CurrentStanding {
  role: Role;
  suspended: boolean;
  fetchedAtMs: number;
}

export interface SessionGuardOptions {
  user: Pick<RpcClient<typeof userRpc.methods>, 'GetUser'>;
  now: () => number;
  /** How long a fetched role is trusted for staff routes; events drop it sooner. */
  roleCacheMs: number;
  logger: Logger;
  maxEntries?: number;
}

/**
 * Revocation at the gateway (issue 13 finding 1): a deny list fed by user events over a
 * broadcast subscription (every gateway instance sees every event), and for operator and admin
 * routes the caller's current role and status from the user service, cached briefly. A role
 * change also denies the tokens issued before it: the client refreshes and gets the new role.
 */
export class SessionGuard implements SessionCheck {
  readonly denyList: DenyList;
  readonly #standing = new Map<string, CurrentStanding>();
  readonly #options: SessionGuardOptions;

  constructor(options: SessionGuardOptions) {
    this.#options = options;
    this.denyList = new DenyList({ now: options.now, ...(options.maxEntries !== undefined && { maxEntries: options.maxEntries }) });
  }

  /** The broadcast handler: one user event. */
  onEvent(event: EventEnvelope): void {
    if (UserSessionsRevoked.is(event)) {
      const { userId, sessionId, revokedBefore, deniedUntil } = event.data;
      if (sessionId) this.denyList.revokeSession(sessionId, Date.parse(deniedUntil));
      else this.denyList.revokeUser(userId, Date.parse(revokedBefore), Date.parse(deniedUntil));
      this.#standing.delete(userId);
    } else if (UserRoleChanged.is(event)) {
      const { userId, changedAt, deniedUntil } = event.data;
      this.denyList.revokeUser(userId, Date.parse(changedAt), Date.parse(deniedUntil));
      this.#standing.delete(userId);
    } else if (UserSuspended.is(event)) {
      this.#standing.delete(event.data.userId);
    }
  }

  /** Events were missed (the broker connection dropped): cached roles may be stale. */
  onGap(): void {
    this.#options.logger.warn('user events were missed while disconnected: cached roles dropped');
    this.#standing.clear();
  }

  async assertAllowed(caller: VerifiedCaller, access: Access, ctx: CallContext): Promise<void> {
    if (this.denyList.isDenied(caller)) throw Unauthenticated('TOKEN_REVOKED', 'this session has ended; log in again');
    if (access !== 'operator' && access !== 'admin') return;
    const standing = await this.#currentStanding(caller, ctx);
    if (!standing) return;
    if (standing.suspended) throw PermissionDenied('ACCOUNT_SUSPENDED', 'this account is suspended');
    if (access === 'operator' && !isStaff(standing.role)) throw PermissionDenied('OPERATOR_ONLY', 'this route is for operators');
    if (access === 'admin' && standing.role !== 'admin') throw PermissionDenied('ADMIN_ONLY', 'this route is for admins');
  }

  async #currentStanding(caller: VerifiedCaller, ctx: CallContext): Promise<CurrentStanding | undefined> {
    const now = this.#options.now();
    const cached = this.#standing.get(caller.userId);
    if (cached && now - cached.fetchedAtMs < this.#options.roleCacheMs) return cached;
    try {
      const user = await this.#options.user.GetUser({ userId: caller.userId }, ctx);
      const standing = { role: user.role, suspended: user.status === 'suspended', fetchedAtMs: now };
      this.#standing.set(caller.userId, standing);
      if (this.#standing.size > (this.#options.maxEntries ?? 100_000)) {
        const [oldest] = this.#standing.keys();
        if (oldest !== undefined) this.#standing.delete(oldest);
      }
      return standing;
    } catch (error) {
      if (error instanceof AppError && (error.code === 'NOT_FOUND' || error.code === 'PERMISSION_DENIED')) {
        throw PermissionDenied('OPERATOR_ONLY', 'this route is for operators');
      }
      // The user service cannot say right now: the claim stands, and the deny list (fed by the
      // same events that a suspension or a role change publishes) still cuts revoked tokens.
      // Failing closed here would also lock operators out of the fault switches that heal it.
      this.#options.logger.warn({ err: error, userId: caller.userId }, 'current role unavailable: authorising from the token claim and the deny list');
      return undefined;
    }
  }
}
