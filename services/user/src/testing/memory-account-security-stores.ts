import { MemoryTable, type HasMemoryTables } from '@carshare/testing';
import type { FailureCount } from '../domain/attempt-backoff.ts';
import type { MailTokenPurpose, MailTokenRecord } from '../domain/mail-token.ts';
import { knownDevicesPerUser, type AttemptCountStore, type KnownDevice, type KnownDeviceStore, type Mail, type MailOutbox, type MailTokenStore } from '../ports.ts';

const sameCount = (a: FailureCount | undefined, b: FailureCount | undefined) =>
  a === undefined || b === undefined ? a === b : a.failures === b.failures && a.lastFailureAt === b.lastFailureAt;

/** attempt_counts in memory, with the SQL store's compare-and-set. */
export class MemoryAttemptCountStore implements AttemptCountStore {
  readonly #rows = new Map<string, FailureCount>();

  async find(keys: readonly string[]): Promise<Map<string, FailureCount>> {
    const found = new Map<string, FailureCount>();
    for (const key of keys) {
      const row = this.#rows.get(key);
      if (row) found.set(key, { ...row });
    }
    return found;
  }

  async compareAndSet(key: string, expected: FailureCount | undefined, next: FailureCount | undefined): Promise<boolean> {
    if (!sameCount(this.#rows.get(key), expected)) return false;
    if (next === undefined) this.#rows.delete(key);
    else this.#rows.set(key, { ...next });
    return true;
  }

  count(key: string): FailureCount | undefined {
    return this.#rows.get(key);
  }
}

export class MemoryKnownDeviceStore implements KnownDeviceStore {
  readonly #rows = new Map<string, KnownDevice & { lastUsedAt: number }>();

  async insert(device: KnownDevice & { tokenHash: string; createdAt: number }): Promise<void> {
    this.#rows.set(device.tokenHash, { deviceId: device.deviceId, userId: device.userId, lastUsedAt: device.createdAt });
    const owned = [...this.#rows.entries()]
      .filter(([, row]) => row.userId === device.userId)
      .sort(([, a], [, b]) => b.lastUsedAt - a.lastUsedAt || (a.deviceId < b.deviceId ? 1 : -1));
    for (const [hash] of owned.slice(knownDevicesPerUser)) this.#rows.delete(hash);
  }

  async find(tokenHash: string): Promise<KnownDevice | undefined> {
    const row = this.#rows.get(tokenHash);
    return row && { deviceId: row.deviceId, userId: row.userId };
  }

  async touch(tokenHash: string, now: number): Promise<void> {
    const row = this.#rows.get(tokenHash);
    if (row) this.#rows.set(tokenHash, { ...row, lastUsedAt: now });
  }
}

/** mail_tokens in memory; `use` is the same compare-and-set on `usedAt` as in SQL. */
export class MemoryMailTokenStore implements MailTokenStore, HasMemoryTables {
  readonly #rows = new MemoryTable<MailTokenRecord>();

  async insert(token: MailTokenRecord): Promise<void> {
    this.#rows.set(token.tokenHash, { ...token });
  }

  async find(tokenHash: string): Promise<MailTokenRecord | undefined> {
    const row = this.#rows.get(tokenHash);
    return row && { ...row };
  }

  async use(tokenHash: string, now: number): Promise<boolean> {
    const row = this.#rows.get(tokenHash);
    if (!row || row.usedAt !== undefined) return false;
    this.#rows.set(tokenHash, { ...row, usedAt: now });
    return true;
  }

  async voidUnused(userId: string, purpose: MailTokenPurpose, now: number): Promise<void> {
    for (const [hash, row] of this.#rows.entries()) {
      if (row.userId === userId && row.purpose === purpose && row.usedAt === undefined) this.#rows.set(hash, { ...row, usedAt: now });
    }
  }

  memoryTables(): readonly MemoryTable<unknown>[] {
    return [this.#rows];
  }
}

/** The mail outbox in memory: what the use cases asked to send, oldest first. */
export class MemoryMailOutbox implements MailOutbox, HasMemoryTables {
  readonly #rows = new MemoryTable<Mail>();
  #next = 0;

  async add(mail: Mail): Promise<void> {
    this.#next += 1;
    this.#rows.set(String(this.#next).padStart(8, '0'), { ...mail });
  }

  get mails(): Mail[] {
    return this.#rows.entries().sort(([a], [b]) => (a < b ? -1 : 1)).map(([, mail]) => ({ ...mail }));
  }

  memoryTables(): readonly MemoryTable<unknown>[] {
    return [this.#rows];
  }
}
