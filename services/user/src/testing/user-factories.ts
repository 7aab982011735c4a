import { createHash, randomBytes } from 'node:crypto';
import type { Caller } from '@carshare/platform';
import type { RefreshTokenRecord } from '../domain/refresh-token.ts';
import type { User, UserRecord } from '../domain/user.ts';
import { fakePasswordHash } from './fake-password-hasher.ts';

let sequence = 0;

/** Distinct, valid ids for seeded rows; `ff…` keeps them apart from the service's SequentialIds. */
function nextId(): string {
  sequence += 1;
  return `ffffffff-0000-7000-8000-${sequence.toString(16).padStart(12, '0')}`;
}

export const defaultTestPassword = 'correct horse battery';

/** An active rider on the free plan; unique id and email unless given. */
export function aUser(overrides: Partial<User> = {}): User {
  const id = overrides.id ?? nextId();
  return {
    id,
    email: `rider-${id.slice(-6)}@example.com`,
    displayName: 'Test Rider',
    role: 'rider',
    plan: 'free',
    status: 'active',
    suspendedReason: undefined,
    emailVerified: true,
    createdAt: Date.parse('2026-01-01T00:00:00Z'),
    ...overrides,
  };
}

/** A stored user whose password is `defaultTestPassword` under FakePasswordHasher. */
export function aUserRecord(overrides: Partial<UserRecord> = {}): UserRecord {
  return { ...aUser(overrides), passwordHash: fakePasswordHash(defaultTestPassword), ...overrides };
}

/** What an authenticated request of `user` carries. */
export function aCaller(user: Pick<User, 'id' | 'role' | 'plan'>): Caller {
  return { userId: user.id, role: user.role, plan: user.plan, token: '' };
}

/** How the service stores a refresh token (sha256, base64url): if that changes, seeded sessions fail loudly. */
export function refreshTokenHash(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('base64url');
}

export interface SeededSession {
  /** What the client holds. */
  refreshToken: string;
  /** What the store holds. */
  record: RefreshTokenRecord;
}

/** A refresh token of `user` as the client holds it, and its row as the store holds it. */
export function aSession(user: Pick<User, 'id'>, overrides: Partial<RefreshTokenRecord> = {}): SeededSession {
  const refreshToken = randomBytes(32).toString('base64url');
  const issuedAt = overrides.issuedAt ?? Date.parse('2026-01-01T00:00:00Z');
  return {
    refreshToken,
    record: {
      tokenHash: refreshTokenHash(refreshToken),
      familyId: nextId(),
      userId: user.id,
      issuedAt,
      expiresAt: issuedAt + 30 * 24 * 3600 * 1000,
      rotatedAt: undefined,
      revokedAt: undefined,
      ...overrides,
    },
  };
}
