import { createHash, randomBytes } from 'node:crypto';
import {
  AppError,
  InvalidArgument,
  NotFound,
  PermissionDenied,
  Unauthenticated,
  isUuid,
  type Caller,
  type Role,
} from '@carshare/platform';
import {
  UserEmailVerified,
  UserReactivated,
  UserRegistered,
  UserRoleChanged,
  UserSessionsRevoked,
  UserSuspended,
  isStaff,
} from '@carshare/contracts';
import { decodeCursor, encodeCursor } from '@carshare/storage';
import { AttemptThrottle } from './attempt-throttle.ts';
import { loginChecks, resetChecks, signupChecks } from './domain/login-throttle.ts';
import { judgeMailToken, type MailTokenPurpose } from './domain/mail-token.ts';
import { judgePassword, type PasswordContext } from './domain/password-policy.ts';
import { judgeRefresh } from './domain/refresh-token.ts';
import { canChangeStatus, mayManage, normalizeEmail, type Plan, type User, type UserStatus } from './domain/user.ts';
import { alreadyRegisteredMail, passwordResetMail, verificationMail } from './mail-templates.ts';
import type { UserServicePorts, UserTransaction } from './ports.ts';

export interface Session {
  user: User;
  tokens: { tokenType: 'Bearer'; accessToken: string; expiresIn: number; refreshToken: string };
}

export interface LoginSession extends Session {
  /** Sent back on this device's next logins: its attempts are then throttled apart from strangers'. */
  deviceToken: string;
}

/** What the gateway saw of the end user's client. */
export interface ClientInfo {
  ip?: string;
  deviceToken?: string;
}

export type SessionRevocationReason = 'logout' | 'refresh_token_reused' | 'suspended' | 'password_changed' | 'password_reset';

/** The one answer registration gives, whether the address was free or taken. */
export const registrationAccepted = {
  status: 'verification_sent',
  message: 'check your inbox: we sent a link to confirm the address',
} as const;

export const passwordResetRequested = {
  status: 'reset_mail_sent_if_registered',
  message: 'if the address has an account, a link to set a new password is on its way',
} as const;

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

/** Refresh, device and mail tokens are stored only as their SHA-256: a database leak hands out none of them. */
function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
const hashRefreshToken = hashToken;

function newToken(): string {
  return randomBytes(32).toString('base64url');
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

function invalidMailToken() {
  return InvalidArgument('INVALID_MAIL_TOKEN', 'this link is not valid: it expired, was used already, or was replaced by a newer one');
}

export type UserService = ReturnType<typeof createUserService>;

export function createUserService(ports: UserServicePorts) {
  const { users, userLookup, refreshTokens, passwords, accessTokens, clock, ids, unitOfWork, events, devices, mailTokens, security } = ports;
  // Verifying against a real hash when the email is unknown keeps login time flat, so response
  // timing does not reveal which emails have accounts.
  const dummyHash = passwords.hash(randomBytes(16).toString('hex'));
  const throttle = new AttemptThrottle(ports.attempts, () => clock.now());

  function requireGoodPassword(password: string, context: PasswordContext): void {
    const verdict = judgePassword(password, context, (candidate) => ports.commonPasswords.has(candidate));
    if (!verdict.ok) throw InvalidArgument('WEAK_PASSWORD', verdict.message, { field: 'password', rule: verdict.rule });
  }

  function pageUrl(path: string): string {
    return `${security.linkBaseUrl.replace(/\/+$/, '')}/${path}`;
  }

  function link(path: string, token: string): string {
    return `${pageUrl(path)}?token=${token}`;
  }

  /** A single-use token for a mailed link; only its hash is stored. */
  async function issueMailToken(tx: UserTransaction, user: User, purpose: MailTokenPurpose, ttlMs: number): Promise<string> {
    const token = newToken();
    const now = clock.now();
    await tx.mailTokens.insert({ tokenHash: hashToken(token), userId: user.id, purpose, email: user.email, createdAt: now, expiresAt: now + ttlMs, usedAt: undefined });
    return token;
  }

  /**
   * Records what a gateway's deny list needs: the user, the session (or all of them), and when
   * the last access token signed before now expires, after which there is nothing left to deny.
   */
  async function recordSessionsRevoked(tx: UserTransaction, userId: string, sessionId: string | undefined, reason: SessionRevocationReason, origin: Origin): Promise<void> {
    const now = clock.now();
    await tx.events.add(
      events.create(
        UserSessionsRevoked,
        userId,
        {
          userId,
          ...(sessionId !== undefined && { sessionId }),
          reason,
          revokedBefore: new Date(now).toISOString(),
          deniedUntil: new Date(now + accessTokens.tokenTtlMs).toISOString(),
        },
        origin,
      ),
    );
  }

  async function revokeFamily(familyId: string, userId: string, reason: SessionRevocationReason, origin: Origin): Promise<void> {
    await unitOfWork.run(async (tx) => {
      await tx.refreshTokens.revokeFamily(familyId, clock.now());
      await recordSessionsRevoked(tx, userId, familyId, reason, origin);
    });
  }

  /** Spends a mail token inside the transaction that acts on it: of two racing uses, one wins. */
  async function useMailToken(tx: UserTransaction, token: string, purpose: MailTokenPurpose): Promise<User> {
    const tokenHash = hashToken(token);
    const now = clock.now();
    const record = await tx.mailTokens.find(tokenHash);
    if (judgeMailToken(record, purpose, now).kind !== 'valid' || !record) throw invalidMailToken();
    const user = await tx.users.findById(record.userId);
    // A token proves the address it was mailed to, not whatever the account's address is now.
    if (!user || user.email !== record.email) throw invalidMailToken();
    if (!(await tx.mailTokens.use(tokenHash, now))) throw invalidMailToken();
    return user;
  }

  /** A known device keeps its token; any other successful login gets a new one. */
  async function deviceTokenFor(user: User, known: { tokenHash: string; token: string } | undefined): Promise<string> {
    const now = clock.now();
    if (known) {
      await devices.touch(known.tokenHash, now);
      return known.token;
    }
    const token = newToken();
    await devices.insert({ tokenHash: hashToken(token), deviceId: ids.next(), userId: user.id, createdAt: now });
    return token;
  }

  async function openSession(user: User, familyId: string = ids.next()): Promise<Session> {
    const refreshToken = newToken();
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
    const access = await accessTokens.sign(user, familyId);
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
        await recordSessionsRevoked(tx, userId, undefined, 'suspended', origin);
      } else {
        await tx.events.add(events.create(UserReactivated, userId, { userId }, origin));
      }
      return updated;
    });
  }

  return {
    /**
     * Internal: riders sign up through `register`; staff and demo accounts come from the CLI,
     * whose operator vouches for the address (verified from the start).
     */
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
        emailVerified: true,
        createdAt: now,
      };
      const passwordHash = await passwords.hash(account.password);
      await unitOfWork.run(async (tx) => {
        await tx.users.insert({ ...user, passwordHash });
        await tx.events.add(events.create(UserRegistered, user.id, { userId: user.id, email: user.email, role: user.role, plan: user.plan }, origin));
      });
      return user;
    },

    /** The password rules, for callers that take a password outside the sign-up flow (the CLI). */
    checkPassword(password: string, context: PasswordContext): void {
      requireGoodPassword(password, context);
    },

    /**
     * A new unverified rider and a verification mail; a taken address gets a mail to its owner
     * instead. Both answer the same, in about the same time (both hash the password), so the
     * answer does not tell who has an account.
     */
    async register(
      input: { email: string; password: string; displayName: string; client?: ClientInfo },
      origin: Origin = {},
    ): Promise<typeof registrationAccepted> {
      const email = normalizeEmail(input.email);
      const displayName = input.displayName.trim();
      requireGoodPassword(input.password, { email, displayName });
      await throttle.admit(signupChecks(security.throttle, input.client?.ip), 'REGISTRATION_THROTTLED', 'too many sign-ups from this address; try again later');
      const passwordHash = await passwords.hash(input.password);
      const now = clock.now();
      const user: User = {
        id: ids.next(),
        email,
        displayName,
        role: 'rider',
        plan: 'free',
        status: 'active',
        suspendedReason: undefined,
        emailVerified: false,
        createdAt: now,
      };
      try {
        await unitOfWork.run(async (tx) => {
          await tx.users.insert({ ...user, passwordHash });
          await tx.events.add(events.create(UserRegistered, user.id, { userId: user.id, email, role: user.role, plan: user.plan }, origin));
          const token = await issueMailToken(tx, user, 'verify_email', security.verifyEmailTokenTtlMs);
          await tx.mails.add(verificationMail(user, link('verify-email', token), token));
        });
      } catch (error) {
        if (!(error instanceof AppError && error.reason === 'EMAIL_TAKEN')) throw error;
        const taken = await users.findByEmailWithPassword(email);
        if (taken) {
          const { passwordHash: _omitted, ...owner } = taken;
          await unitOfWork.run((tx) => tx.mails.add(alreadyRegisteredMail(owner, pageUrl('reset-password'))));
        }
      }
      return registrationAccepted;
    },

    async login(input: { email: string; password: string; client?: ClientInfo }): Promise<LoginSession> {
      const email = normalizeEmail(input.email);
      const record = await users.findByEmailWithPassword(email);
      const presented = input.client?.deviceToken;
      const device = presented === undefined ? undefined : await devices.find(hashToken(presented));
      // A device token counts only for the account it was given for: a stranger's own device
      // token buys nothing at somebody else's account.
      const trusted = device !== undefined && record !== undefined && device.userId === record.id ? device : undefined;
      const attempt = await throttle.admit(
        loginChecks(security.throttle, { account: email, trustedDeviceId: trusted?.deviceId, ip: input.client?.ip }),
        'LOGIN_THROTTLED',
        'too many failed logins: wait a little, or log in from a device you used before',
      );
      const matches = await passwords.verify(record?.passwordHash ?? (await dummyHash), input.password, record?.id);
      if (!record || !matches) throw Unauthenticated('INVALID_CREDENTIALS', 'email or password is wrong');
      await attempt.succeeded();
      if (record.status === 'suspended') throw PermissionDenied('USER_SUSPENDED', 'this account is suspended');
      const { passwordHash: _omitted, ...user } = record;
      const deviceToken = await deviceTokenFor(user, trusted && presented !== undefined ? { tokenHash: hashToken(presented), token: presented } : undefined);
      return { ...(await openSession(user)), deviceToken };
    },

    async verifyEmail(input: { token: string }, origin: Origin = {}): Promise<User> {
      return unitOfWork.run(async (tx) => {
        const user = await useMailToken(tx, input.token, 'verify_email');
        if (user.emailVerified) return user;
        const verified = await tx.users.update(user.id, { emailVerified: true }, clock.now());
        if (!verified) throw invalidMailToken();
        await tx.events.add(events.create(UserEmailVerified, user.id, { userId: user.id }, origin));
        return verified;
      });
    },

    async requestPasswordReset(input: { email: string; client?: ClientInfo }): Promise<typeof passwordResetRequested> {
      const email = normalizeEmail(input.email);
      await throttle.admit(resetChecks(security.throttle, email, input.client?.ip), 'RESET_THROTTLED', 'a reset link was asked for too often; try again later');
      const record = await users.findByEmailWithPassword(email);
      if (record && record.status === 'active') {
        const { passwordHash: _omitted, ...user } = record;
        await unitOfWork.run(async (tx) => {
          // Only the newest link works: an older mail lying around in an inbox is useless.
          await tx.mailTokens.voidUnused(user.id, 'reset_password', clock.now());
          const token = await issueMailToken(tx, user, 'reset_password', security.resetTokenTtlMs);
          await tx.mails.add(passwordResetMail(user, link('reset-password', token), token));
        });
      }
      return passwordResetRequested;
    },

    async confirmPasswordReset(input: { token: string; newPassword: string }, origin: Origin = {}): Promise<Record<string, never>> {
      const pending = await mailTokens.find(hashToken(input.token));
      const owner = pending && judgeMailToken(pending, 'reset_password', clock.now()).kind === 'valid' ? await users.findById(pending.userId) : undefined;
      if (!owner) throw invalidMailToken();
      // The rules are checked before the token is spent, so a refused password leaves the link usable.
      requireGoodPassword(input.newPassword, { email: owner.email, displayName: owner.displayName });
      const passwordHash = await passwords.hash(input.newPassword);
      await unitOfWork.run(async (tx) => {
        const user = await useMailToken(tx, input.token, 'reset_password');
        const now = clock.now();
        await tx.users.updatePassword(user.id, passwordHash, now);
        // The link reached the inbox, so the address is the owner's too.
        if (!user.emailVerified) await tx.users.update(user.id, { emailVerified: true }, now);
        await tx.refreshTokens.revokeAllOfUser(user.id, now);
        await recordSessionsRevoked(tx, user.id, undefined, 'password_reset', origin);
      });
      return {};
    },

    async changePassword(input: { currentPassword: string; newPassword: string }, caller: Caller | undefined, origin: Origin = {}): Promise<Record<string, never>> {
      const actor = requireCaller(caller);
      const current = await users.findById(actor.userId);
      const record = current && (await users.findByEmailWithPassword(current.email));
      if (!record) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
      const attempt = await throttle.admit(
        loginChecks(security.throttle, { account: record.email, trustedDeviceId: undefined, ip: undefined }),
        'LOGIN_THROTTLED',
        'too many wrong passwords: wait a little',
      );
      if (!(await passwords.verify(record.passwordHash, input.currentPassword, record.id))) throw Unauthenticated('INVALID_CREDENTIALS', 'the current password is wrong');
      await attempt.succeeded();
      requireGoodPassword(input.newPassword, { email: record.email, displayName: record.displayName });
      const passwordHash = await passwords.hash(input.newPassword);
      await unitOfWork.run(async (tx) => {
        const now = clock.now();
        await tx.users.updatePassword(record.id, passwordHash, now);
        await tx.refreshTokens.revokeAllOfUser(record.id, now);
        await recordSessionsRevoked(tx, record.id, undefined, 'password_changed', origin);
      });
      return {};
    },

    async refresh(input: { refreshToken: string }, origin: Origin = {}): Promise<Session> {
      const now = clock.now();
      const current = await refreshTokens.find(hashRefreshToken(input.refreshToken));
      const verdict = judgeRefresh(current, now);
      if (verdict.kind === 'invalid' || !current) throw Unauthenticated('INVALID_REFRESH_TOKEN', 'the refresh token is not valid; log in again');
      if (verdict.kind === 'reused') {
        await revokeFamily(current.familyId, current.userId, 'refresh_token_reused', origin);
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
      const access = await accessTokens.sign(user, current.familyId);
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
        await revokeFamily(current.familyId, current.userId, 'refresh_token_reused', origin);
        throw Unauthenticated('REFRESH_TOKEN_REUSED', 'this refresh token was already used; every session of this login has ended');
      }
      return { user, tokens: { tokenType: 'Bearer', accessToken: access.token, expiresIn: access.expiresIn, refreshToken: nextToken } };
    },

    async logout(input: { refreshToken: string }, origin: Origin = {}): Promise<Record<string, never>> {
      const current = await refreshTokens.find(hashRefreshToken(input.refreshToken));
      // Logging out twice revokes nothing new and tells the gateways nothing new.
      if (current && current.revokedAt === undefined) await revokeFamily(current.familyId, current.userId, 'logout', origin);
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

    async setUserRole(input: { userId: string; role: Role }, caller: Caller | undefined, origin: Origin = {}): Promise<User> {
      const actor = requireCaller(caller);
      if (actor.role !== 'admin') throw PermissionDenied('ADMIN_ONLY', 'only admins may change roles');
      if (actor.userId === input.userId) throw InvalidArgument('CANNOT_CHANGE_OWN_ROLE', 'nobody sets their own role');
      const target = await loadManageable(actor, input.userId);
      if (target.role === input.role) return target;
      return unitOfWork.run(async (tx) => {
        const now = clock.now();
        const updated = await tx.users.update(input.userId, { role: input.role }, now);
        if (!updated) throw NotFound('USER_NOT_FOUND', 'no such user', { userId: input.userId });
        // Access tokens carry the role: gateways hear of the change to stop honouring the old claim.
        await tx.events.add(
          events.create(
            UserRoleChanged,
            updated.id,
            {
              userId: updated.id,
              previousRole: target.role,
              role: updated.role,
              changedAt: new Date(now).toISOString(),
              deniedUntil: new Date(now + accessTokens.tokenTtlMs).toISOString(),
            },
            origin,
          ),
        );
        return updated;
      });
    },

    /** Staff confirm an address without the mailed link; the same event as a followed link. */
    async confirmUserEmail(input: { userId: string }, caller: Caller | undefined, origin: Origin = {}): Promise<User> {
      const target = await loadManageable(requireStaff(caller), input.userId);
      if (target.emailVerified) return target;
      return unitOfWork.run(async (tx) => {
        const verified = await tx.users.update(target.id, { emailVerified: true }, clock.now());
        if (!verified) throw NotFound('USER_NOT_FOUND', 'no such user', { userId: input.userId });
        await tx.events.add(events.create(UserEmailVerified, target.id, { userId: target.id }, origin));
        return verified;
      });
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
