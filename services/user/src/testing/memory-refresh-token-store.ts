import { MemoryTable, type HasMemoryTables } from '@carshare/testing';
import type { RefreshTokenRecord } from '../domain/refresh-token.ts';
import type { RefreshTokenStore } from '../ports.ts';

/** The refresh_tokens table in memory; rotation is the same compare-and-set the SQL store does. */
export class MemoryRefreshTokenStore implements RefreshTokenStore, HasMemoryTables {
  readonly #rows = new MemoryTable<RefreshTokenRecord>();

  async insert(token: RefreshTokenRecord): Promise<void> {
    if (this.#rows.has(token.tokenHash)) throw new Error('duplicate refresh token hash (primary key)');
    this.#rows.set(token.tokenHash, { ...token });
  }

  async rotate(currentHash: string, next: RefreshTokenRecord, now: number): Promise<boolean> {
    const current = this.#rows.get(currentHash);
    if (!current || current.rotatedAt !== undefined || current.revokedAt !== undefined) return false;
    // Both writes before any await: the journal of a transaction sees only synchronous writes.
    if (this.#rows.has(next.tokenHash)) throw new Error('duplicate refresh token hash (primary key)');
    this.#rows.set(currentHash, { ...current, rotatedAt: now });
    this.#rows.set(next.tokenHash, { ...next });
    return true;
  }

  async find(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = this.#rows.get(tokenHash);
    return row && { ...row };
  }

  async revokeFamily(familyId: string, now: number): Promise<void> {
    this.#revokeWhere((row) => row.familyId === familyId, now);
  }

  async revokeAllOfUser(userId: string, now: number): Promise<void> {
    this.#revokeWhere((row) => row.userId === userId, now);
  }

  /** Every stored token: for assertions on what was revoked. */
  rows(): RefreshTokenRecord[] {
    return this.#rows.values().map((row) => ({ ...row }));
  }

  memoryTables(): readonly MemoryTable<unknown>[] {
    return [this.#rows];
  }

  #revokeWhere(matches: (row: RefreshTokenRecord) => boolean, now: number): void {
    for (const [hash, row] of this.#rows.entries()) {
      if (matches(row) && row.revokedAt === undefined) this.#rows.set(hash, { ...row, revokedAt: now });
    }
  }
}
