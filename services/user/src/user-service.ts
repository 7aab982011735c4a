import { createHash, randomBytes } from 'node:crypto';
import {
  InvalidArgument,
  NotFound,
  PermissionDenied,
  Unauthenticated,
  isUuid,
  type Caller,
  type Role,
} from '@carshare/platform';
import { UserReactivated, UserRegistered, UserSuspended, isStaff } from '@carshare/contracts';
import { decodeCursor, encodeCursor } from '@carshare/storage';
import { judgeRefresh } from './domain/refresh-token.ts';
import { canChangeStatus, mayManage, normalizeEmail, type Plan, type User, type UserStatus } from './domain/user.ts';
import type { UserServicePorts } from './ports.ts';

export interface Session {
  user: User;
  tokens: { tokenType: 'Bearer'; accessToken: string; expiresIn: number; refreshToken: string };
}

export interface NewAccount {
  email: string;
  password: string;
  displayName: string;
  role: Role;
  plan: Plan;
}

/** Where a use case was called from, so the events it records join the caller's trace. */
export interface Origin {
  traceparent?: string;
}

export interface UserPage {
  items: User[];
  nextCursor: string | null;
}

function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function afterIdOf(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const [afterId] = decodeCursor(cursor);
  if (typeof afterId !== 'string' || !isUuid(afterId)) throw InvalidArgument('INVALID_CURSOR', 'the cursor is not one this list gave out');
  return afterId;
}

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  return caller;
}

function requireStaff(caller: Caller | undefined): Caller {
  const actor = requireCaller(caller);
  if (!isStaff(actor.role)) throw PermissionDenied('OPERATOR_ONLY', 'only operators may do this');
  return actor;
}

export type UserService = ReturnType<typeof createUserService>;

export function createUserService(ports: UserServicePorts) {
  const { users, userLookup, refreshTokens, passwords, accessTokens, clock, ids, unitOfWork, events } = ports;
  // Verifying against a real hash when the email is unknown keeps login time flat, so response
  // timing does not reveal which emails have accounts.
  const dummyHash = passwords.hash(randomBytes(16).toString('hex'));

  async function openSession(user: User, familyId: string = ids.next()): Promise<Session> {
    const refreshToken = randomBytes(32).toString('base64url');
    const now = clock.now();
    await refreshTokens.insert({
      tokenHash: hashRefreshToken(refreshToken),
      familyId,
      userId: user.id,
      issuedAt: now,
      expiresAt: now + ports.refreshTokenTtlMs,
      rotatedAt: undefined,
      revokedAt: undefined,
    });
    const access = await accessTokens.sign(user);
    return { user, tokens: { tokenType: 'Bearer', accessToken: access.token, expiresIn: access.expiresIn, refreshToken } };
  }

  async function loadManageable(actor: Caller, userId: string): Promise<User> {
    const target = await users.findById(userId);
    if (!target) throw NotFound('USER_NOT_FOUND', 'no such user', { userId });
    if (!mayManage(actor.role, target.role)) throw PermissionDenied('ADMIN_ONLY', 'only an admin may manage an admin', { userId });
    return target;
  }

  async function changeStatus(actor: Caller, userId: string, to: UserStatus, reason: string | undefined, origin: Origin): Promise<User> {
    const target = await loadManageable(actor, userId);
    if (target.status === to) return target;
    if (!canChangeStatus(target.status, to)) {
      throw InvalidArgument('INVALID_STATUS_CHANGE', `cannot go from ${target.status} to ${to}`, { current: target.status });
    }
    const now = clock.now();
    return unitOfWork.run(async (tx) => {
      // The status read above may be stale by now: the update only applies to the status it was
      // decided on, so of two racing suspensions one changes the user and records the event.
      const updated = await tx.users.updateIfStatus(userId, target.status, { status: to, suspendedReason: to === 'suspended' ? reason : undefined }, now);
      if (!updated) {
        const current = await tx.users.findById(userId);
        if (!current) throw NotFound('USER_NOT_FOUND', 'no such user', { userId });
        // Suspend and reactivate are idempotent: whoever won did this change and recorded its event.
        if (current.status === to) return current;
        throw InvalidArgument('INVALID_STATUS_CHANGE', `cannot go from ${current.status} to ${to}`, { current: current.status });
      }
      if (to === 'suspended') {
        await tx.refreshTokens.revokeAllOfUser(userId, now);
        await tx.events.add(events.create(UserSuspended, userId, { userId, ...(reason !== undefined && { reason }) }, origin));
      } else {
        await tx.events.add(events.create(UserReactivated, userId, { userId }, origin));
      }
      return updated;
    });
  }

  return {
    /** Internal: riders sign up through `register`; staff accounts come from the CLI. */
    async createAccount(account: NewAccount, origin: Origin = {}): Promise<User> {
      const now = clock.now();
      const user: User = {
        id: ids.next(),
        email: normalizeEmail(account.email),
        displayName: account.displayName.trim(),
        role: account.role,
        plan: account.plan,
        status: 'active',
        suspendedReason: undefined,
        createdAt: now,
      };
      const passwordHash = await passwords.hash(account.password);
      await unitOfWork.run(async (tx) => {
        await tx.users.insert({ ...user, passwordHash });
        await tx.events.add(events.create(UserRegistered, user.id, { userId: user.id, email: user.email, role: user.role, plan: user.plan }, origin));
      });
      return user;
    },

    async register(input: { email: string; password: string; displayName: string }, origin: Origin = {}): Promise<Session> {
      const user = await this.createAccount({ ...input, role: 'rider', plan: 'free' }, origin);
      return openSession(user);
    },

    async login(input: { email: string; password: string }): Promise<Session> {
      const record = await users.findByEmailWithPassword(normalizeEmail(input.email));
      const matches = await passwords.verify(record?.passwordHash ?? (await dummyHash), input.password, record?.id);
      if (!record || !matches) throw Unauthenticated('INVALID_CREDENTIALS', 'email or password is wrong');
      if (record.status === 'suspended') throw PermissionDenied('USER_SUSPENDED', 'this account is suspended');
      const { passwordHash: _omitted, ...user } = record;
      return openSession(user);
    },

    async refresh(input: { refreshToken: string }): Promise<Session> {
      const now = clock.now();
      const current = await refreshTokens.find(hashRefreshToken(input.refreshToken));
      const verdict = judgeRefresh(current, now);
      if (verdict.kind === 'invalid' || !current) throw Unauthenticated('INVALID_REFRESH_TOKEN', 'the refresh token is not valid; log in again');
      if (verdict.kind === 'reused') {
        await refreshTokens.revokeFamily(current.familyId, now);
        throw Unauthenticated('REFRESH_TOKEN_REUSED', 'this refresh token was already used; every session of this login has ended');
      }
      const user = await users.findById(current.userId);
      if (!user || user.status === 'suspended') {
        await refreshTokens.revokeFamily(current.familyId, now);
        throw PermissionDenied('USER_SUSPENDED', 'this account is suspended');
      }
      // Signed before the rotation: signing can fail (keys not loaded) and rotating cannot be
      // undone, so a failure here leaves the client's token valid for a retry instead of making
      // that retry look like reuse and ending every session of the login.
      const access = await accessTokens.sign(user);
      const nextToken = randomBytes(32).toString('base64url');
      const rotated = await refreshTokens.rotate(
        current.tokenHash,
        {
          tokenHash: hashRefreshToken(nextToken),
          familyId: current.familyId,
          userId: user.id,
          issuedAt: now,
          expiresAt: now + ports.refreshTokenTtlMs,
          rotatedAt: undefined,
          revokedAt: undefined,
        },
        now,
      );
      if (!rotated) {
        // Two refreshes raced with one token: one of them is a copy, so treat it as reuse.
        await refreshTokens.revokeFamily(current.familyId, now);
        throw Unauthenticated('REFRESH_TOKEN_REUSED', 'this refresh token was already used; every session of this login has ended');
      }
      return { user, tokens: { tokenType: 'Bearer', accessToken: access.token, expiresIn: access.expiresIn, refreshToken: nextToken } };
    },

    async logout(input: { refreshToken: string }): Promise<Record<string, never>> {
      const current = await refreshTokens.find(hashRefreshToken(input.refreshToken));
      if (current) await refreshTokens.revokeFamily(current.familyId, clock.now());
      return {};
    },

    async getUser(input: { userId: string }, caller: Caller | undefined): Promise<User> {
      const actor = requireCaller(caller);
      if (actor.userId !== input.userId && !isStaff(actor.role)) {
        throw PermissionDenied('NOT_YOUR_USER', 'you may only read your own account');
      }
      const user = await userLookup.findById(input.userId);
      if (!user) throw NotFound('USER_NOT_FOUND', 'no such user', { userId: input.userId });
      return user;
    },

    async listUsers(
      input: { limit: number; cursor?: string; search?: string; role?: Role; status?: UserStatus },
      caller: Caller | undefined,
    ): Promise<UserPage> {
      requireStaff(caller);
      const items = await users.list({
        limit: input.limit + 1,
        afterId: afterIdOf(input.cursor),
        search: input.search,
        role: input.role,
        status: input.status,
      });
      const hasMore = items.length > input.limit;
      const page = hasMore ? items.slice(0, input.limit) : items;
      const last = page[page.length - 1];
      return { items: page, nextCursor: hasMore && last ? encodeCursor([last.id]) : null };
    },

    async suspendUser(input: { userId: string; reason: string }, caller: Caller | undefined, origin: Origin = {}): Promise<User> {
      const actor = requireStaff(caller);
      if (actor.userId === input.userId) throw InvalidArgument('CANNOT_SUSPEND_SELF', 'you cannot suspend yourself');
      return changeStatus(actor, input.userId, 'suspended', input.reason, origin);
    },

    async reactivateUser(input: { userId: string }, caller: Caller | undefined, origin: Origin = {}): Promise<User> {
      return changeStatus(requireStaff(caller), input.userId, 'active', undefined, origin);
    },

    async setUserRole(input: { userId: string; role: Role }, caller: Caller | undefined): Promise<User> {
      const actor = requireCaller(caller);
      if (actor.role !== 'admin') throw PermissionDenied('ADMIN_ONLY', 'only admins may change roles');
      if (actor.userId === input.userId) throw InvalidArgument('CANNOT_CHANGE_OWN_ROLE', 'nobody sets their own role');
      await loadManageable(actor, input.userId);
      const updated = await unitOfWork.run((tx) => tx.users.update(input.userId, { role: input.role }, clock.now()));
      if (!updated) throw NotFound('USER_NOT_FOUND', 'no such user', { userId: input.userId });
      // Access tokens carry the role; the next refresh (within 15 min) signs the new one.
      return updated;
    },

    async setUserPlan(input: { userId: string; plan: Plan }, caller: Caller | undefined): Promise<User> {
      const actor = requireStaff(caller);
      if (actor.userId === input.userId) throw InvalidArgument('CANNOT_CHANGE_OWN_PLAN', 'nobody sets their own plan');
      await loadManageable(actor, input.userId);
      const updated = await unitOfWork.run((tx) => tx.users.update(input.userId, { plan: input.plan }, clock.now()));
      if (!updated) throw NotFound('USER_NOT_FOUND', 'no such user', { userId: input.userId });
      return updated;
    },
  };
}
