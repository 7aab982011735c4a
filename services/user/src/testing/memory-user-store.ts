import { AlreadyExists } from '@carshare/platform';
import { MemoryTable, type HasMemoryTables } from '@carshare/testing';
import type { User, UserChanges, UserRecord, UserStatus } from '../domain/user.ts';
import type { TransactionalUserStore, UserListQuery } from '../ports.ts';

function publicPart(record: UserRecord): User {
  const { passwordHash: _omitted, ...user } = record;
  return user;
}

/**
 * The users table in memory, for use-case tests where SQL adds nothing. It keeps the rules the
 * SQL store keeps (emails unique, newest first, search is a literal case-insensitive substring)
 * and hands out copies, so a test cannot change a row behind the store's back.
 */
export class MemoryUserStore implements TransactionalUserStore, HasMemoryTables {
  readonly #rows = new MemoryTable<UserRecord>();

  async insert(user: UserRecord): Promise<void> {
    for (const row of this.#rows.values()) {
      if (row.email === user.email) throw AlreadyExists('EMAIL_TAKEN', 'an account with this email exists', { email: user.email });
    }
    this.#rows.set(user.id, { ...user });
  }

  async findById(id: string): Promise<User | undefined> {
    const row = this.#rows.get(id);
    return row && publicPart(row);
  }

  async findByEmailWithPassword(email: string): Promise<UserRecord | undefined> {
    for (const row of this.#rows.values()) if (row.email === email) return { ...row };
    return undefined;
  }

  async list(query: UserListQuery): Promise<User[]> {
    const search = query.search?.toLowerCase();
    return this.#rows
      .values()
      .filter((row) => query.afterId === undefined || row.id < query.afterId)
      .filter((row) => query.role === undefined || row.role === query.role)
      .filter((row) => query.status === undefined || row.status === query.status)
      .filter((row) => search === undefined || row.email.toLowerCase().includes(search) || row.displayName.toLowerCase().includes(search))
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, query.limit)
      .map(publicPart);
  }

  async update(id: string, changes: UserChanges, _now: number): Promise<User | undefined> {
    const row = this.#rows.get(id);
    if (!row) return undefined;
    const updated: UserRecord = {
      ...row,
      ...(changes.role !== undefined && { role: changes.role }),
      ...(changes.plan !== undefined && { plan: changes.plan }),
      // As in SQL: a status change always sets the reason, clearing it when none is given.
      ...(changes.status !== undefined && { status: changes.status, suspendedReason: changes.suspendedReason }),
      ...(changes.emailVerified !== undefined && { emailVerified: changes.emailVerified }),
    };
    this.#rows.set(id, updated);
    return publicPart(updated);
  }

  async updatePassword(id: string, passwordHash: string, _now: number): Promise<boolean> {
    const row = this.#rows.get(id);
    if (!row) return false;
    this.#rows.set(id, { ...row, passwordHash });
    return true;
  }

  async updateIfStatus(
    id: string,
    expectedStatus: UserStatus,
    changes: Partial<Pick<User, 'status' | 'suspendedReason'>>,
    now: number,
  ): Promise<User | undefined> {
    if (this.#rows.get(id)?.status !== expectedStatus) return undefined;
    return this.update(id, changes, now);
  }

  /** Every row, password hashes included: for assertions on what was stored. */
  rows(): UserRecord[] {
    return this.#rows.values().map((row) => ({ ...row }));
  }

  memoryTables(): readonly MemoryTable<unknown>[] {
    return [this.#rows];
  }
}
