import { createEventFactory } from '@carshare/messaging';
import { FakeClock, SequentialIds, newTestService, type TestService } from '@carshare/testing';
import type { UserServicePorts } from '../ports.ts';
import { createUserService, type UserService } from '../user-service.ts';
import { FakeAccessTokenSigner } from './fake-access-token-signer.ts';
import { FakePasswordHasher } from './fake-password-hasher.ts';
import { defaultAccountSecurity } from '../config.ts';
import { MemoryAttemptCountStore, MemoryKnownDeviceStore, MemoryMailOutbox, MemoryMailTokenStore } from './memory-account-security-stores.ts';
import { MemoryEventOutbox } from './memory-event-outbox.ts';
import { shippedCommonPasswords } from '../adapters/shipped-common-passwords.ts';
import { MemoryRefreshTokenStore } from './memory-refresh-token-store.ts';
import { MemoryUnitOfWork } from './memory-unit-of-work.ts';
import { MemoryUserStore } from './memory-user-store.ts';

/** The user service's ports as in-memory fakes, plus the outbox its transactions write to. */
export interface UserServiceFakes extends UserServicePorts {
  users: MemoryUserStore;
  /** The store itself: the read cache is UserReadCache's own test. */
  userLookup: MemoryUserStore;
  refreshTokens: MemoryRefreshTokenStore;
  unitOfWork: MemoryUnitOfWork;
  outbox: MemoryEventOutbox;
  passwords: FakePasswordHasher;
  accessTokens: FakeAccessTokenSigner;
  clock: FakeClock;
  ids: SequentialIds;
  attempts: MemoryAttemptCountStore;
  devices: MemoryKnownDeviceStore;
  mailTokens: MemoryMailTokenStore;
  mails: MemoryMailOutbox;
}

export interface UserServiceFakeOptions {
  /** Where the fake clock starts. */
  now?: string;
  refreshTokenTtlDays?: number;
}

export function userServiceFakes(options: UserServiceFakeOptions = {}): UserServiceFakes {
  const clock = new FakeClock(options.now ?? '2026-03-01T08:00:00Z');
  const ids = new SequentialIds();
  const users = new MemoryUserStore();
  const refreshTokens = new MemoryRefreshTokenStore();
  const outbox = new MemoryEventOutbox();
  const mailTokens = new MemoryMailTokenStore();
  const mails = new MemoryMailOutbox();
  return {
    users,
    userLookup: users,
    refreshTokens,
    outbox,
    unitOfWork: new MemoryUnitOfWork({ users, refreshTokens, events: outbox, mailTokens, mails }),
    events: createEventFactory({ source: 'user', clock, ids }),
    passwords: new FakePasswordHasher(),
    accessTokens: new FakeAccessTokenSigner(),
    clock,
    ids,
    refreshTokenTtlMs: (options.refreshTokenTtlDays ?? 30) * 24 * 3600 * 1000,
    attempts: new MemoryAttemptCountStore(),
    devices: new MemoryKnownDeviceStore(),
    mailTokens,
    mails,
    commonPasswords: shippedCommonPasswords,
    security: defaultAccountSecurity(),
  };
}

/** One line to the user service's use cases on fakes: `const { sut, fakes } = newUserTestService();` */
export function newUserTestService(options: UserServiceFakeOptions = {}): TestService<UserService, UserServiceFakes> {
  return newTestService(createUserService, userServiceFakes(options));
}
