import type { PasswordHasher } from '../ports.ts';

const prefix = 'fake-hash$';

/** The stored form of `password` under FakePasswordHasher, for seeding users directly. */
export function fakePasswordHash(password: string): string {
  return `${prefix}${password}`;
}

/**
 * Instant where argon2 costs ~20 ms a hash. Like argon2 it refuses, rather than throws on, a
 * stored hash it cannot read, and notes whose it was in `unreadable`, where Argon2PasswordHasher
 * logs an error.
 */
export class FakePasswordHasher implements PasswordHasher {
  readonly unreadable: Array<string | undefined> = [];

  async hash(password: string): Promise<string> {
    return fakePasswordHash(password);
  }

  async verify(hash: string, password: string, userId: string | undefined): Promise<boolean> {
    if (!hash.startsWith(prefix)) {
      this.unreadable.push(userId);
      return false;
    }
    return hash === fakePasswordHash(password);
  }
}
