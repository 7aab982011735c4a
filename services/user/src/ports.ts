import type { EventEnvelope } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import type { Clock, IdGenerator, Role } from '@carshare/platform';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import type { RefreshTokenRecord } from './domain/refresh-token.ts';
import type { User, UserRecord, UserStatus } from './domain/user.ts';

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
  update(id: string, changes: Partial<Pick<User, 'role' | 'plan' | 'status' | 'suspendedReason'>>, now: number): Promise<User | undefined>;
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
  sign(user: User): Promise<{ token: string; expiresIn: number }>;
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
}
