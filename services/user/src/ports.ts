import type { EventEnvelope } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import type { Clock, IdGenerator, Role } from '@carshare/platform';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import type { RefreshTokenRecord } from './domain/refresh-token.ts';
import type { FailureCount } from './domain/attempt-backoff.ts';
import type { LoginThrottlePolicy } from './domain/login-throttle.ts';
import type { MailTokenRecord } from './domain/mail-token.ts';
import type { User, UserChanges, UserRecord, UserStatus } from './domain/user.ts';

export interface UserListQuery {
  limit: number;
  /** Keyset position: the id of the last user on the previous page (ids sort by creation). */
  afterId: string | undefined;
  search: string | undefined;
  role: Role | undefined;
  status: UserStatus | undefined;
}

/** Reads that may trail another instance's writes by a few seconds: answers, never decisions. */
export interface UserLookup {
  findById(id: string): Promise<User | undefined>;
}

export interface UserStore {
  /** Fails with ALREADY_EXISTS / EMAIL_TAKEN when the email is in use. */
  insert(user: UserRecord): Promise<void>;
  findById(id: string): Promise<User | undefined>;
  findByEmailWithPassword(email: string): Promise<UserRecord | undefined>;
  list(query: UserListQuery): Promise<User[]>;
  update(id: string, changes: UserChanges, now: number): Promise<User | undefined>;
  /** False when there is no such user. */
  updatePassword(id: string, passwordHash: string, now: number): Promise<boolean>;
}

export interface RefreshTokenStore {
  insert(token: RefreshTokenRecord): Promise<void>;
  /**
   * Marks `current` rotated and stores `next`, atomically and only if `current` was not already
   * rotated or revoked: returns false when another request won the race.
   */
  rotate(currentHash: string, next: RefreshTokenRecord, now: number): Promise<boolean>;
  find(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  revokeFamily(familyId: string, now: number): Promise<void>;
  revokeAllOfUser(userId: string, now: number): Promise<void>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * False for a wrong password and for a stored hash that cannot be read; the latter is also
   * reported (naming `userId`, never the hash) so an operator learns of the damaged row.
   */
  verify(hash: string, password: string, userId: string | undefined): Promise<boolean>;
}

export interface AccessTokenSigner {
  /** A token for `user` in session `sessionId` (the `sid` claim: its refresh-token family). */
  sign(user: User, sessionId: string): Promise<{ token: string; expiresIn: number }>;
  /** How long a token lives: a revocation must be remembered this long after it. */
  readonly tokenTtlMs: number;
  /** Public keys of every key whose tokens may still be alive. */
  jwks(): Promise<JSONWebKeySet>;
  /** Key lookup for verifying our own tokens without a network hop. */
  keyLookup: JWTVerifyGetKey;
}

/** Events recorded here leave through the outbox only if the surrounding transaction commits. */
export interface EventOutbox {
  add(event: EventEnvelope): Promise<void>;
}

/** Writes that are only safe inside a transaction: they decide a race between two requests. */
export interface TransactionalUserStore extends UserStore {
  /**
   * Applies `changes` only if the user's status is still `expectedStatus` (UPDATE … WHERE status
   * = expected): of two racing status changes exactly one matches. Undefined when none did.
   */
  updateIfStatus(
    id: string,
    expectedStatus: UserStatus,
    changes: Partial<Pick<User, 'status' | 'suspendedReason'>>,
    now: number,
  ): Promise<User | undefined>;
}

export interface UserTransaction {
  users: TransactionalUserStore;
  refreshTokens: RefreshTokenStore;
  events: EventOutbox;
  mailTokens: MailTokenStore;
  mails: MailOutbox;
}

/** Failed-attempt counts per throttling key, shared by every instance of the service. */
export interface AttemptCountStore {
  find(keys: readonly string[]): Promise<Map<string, FailureCount>>;
  /**
   * Replaces the count of `key` only if it is still `expected` (undefined: no row); `next`
   * undefined deletes it. False when another request changed it first.
   */
  compareAndSet(key: string, expected: FailureCount | undefined, next: FailureCount | undefined): Promise<boolean>;
}

export interface KnownDevice {
  deviceId: string;
  userId: string;
}

/**
 * Devices that logged in successfully, by the SHA-256 of the token they were given. A user keeps
 * the `knownDevicesPerUser` most recently used: a client that never sends its token back (a
 * script) would otherwise add a row per login.
 */
export const knownDevicesPerUser = 20;

export interface KnownDeviceStore {
  insert(device: KnownDevice & { tokenHash: string; createdAt: number }): Promise<void>;
  find(tokenHash: string): Promise<KnownDevice | undefined>;
  touch(tokenHash: string, now: number): Promise<void>;
}

export interface MailTokenStore {
  insert(token: MailTokenRecord): Promise<void>;
  find(tokenHash: string): Promise<MailTokenRecord | undefined>;
  /** Marks the token used if nobody has yet: false when another request used it first. */
  use(tokenHash: string, now: number): Promise<boolean>;
  /** Voids the user's unused tokens of `purpose` (a new reset link makes the older ones useless). */
  voidUnused(userId: string, purpose: MailTokenRecord['purpose'], now: number): Promise<void>;
}

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Mail recorded with the change that calls for it; sent (or shown) once the transaction commits. */
export interface MailOutbox {
  add(mail: Mail): Promise<void>;
}

/** The shipped list of common and breached passwords (lower case). */
export interface CommonPasswords {
  has(candidate: string): boolean;
}

export interface AccountSecuritySettings {
  throttle: LoginThrottlePolicy;
  verifyEmailTokenTtlMs: number;
  resetTokenTtlMs: number;
  /** Where the links in mails point: `<base>/verify-email?token=…`, `<base>/reset-password?token=…`. */
  linkBaseUrl: string;
}

/** Runs work in one database transaction: state changes and their events commit together. */
export interface UnitOfWork {
  run<T>(work: (tx: UserTransaction) => Promise<T>): Promise<T>;
}

export interface UserServicePorts {
  users: UserStore;
  /** GetUser's reads: a cache in front of `users` (login, refresh and staff actions read `users`). */
  userLookup: UserLookup;
  refreshTokens: RefreshTokenStore;
  unitOfWork: UnitOfWork;
  events: EventFactory;
  passwords: PasswordHasher;
  accessTokens: AccessTokenSigner;
  clock: Clock;
  ids: IdGenerator;
  refreshTokenTtlMs: number;
  attempts: AttemptCountStore;
  devices: KnownDeviceStore;
  mailTokens: MailTokenStore;
  commonPasswords: CommonPasswords;
  security: AccountSecuritySettings;
}
