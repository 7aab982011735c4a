import type { Kysely, Selectable } from 'kysely';
import type { RefreshTokenRecord } from '../domain/refresh-token.ts';
import type { RefreshTokenStore } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';

type Row = Selectable<UserDatabase['refresh_tokens']>;

export type SqlTransactionRunner = <T>(work: (trx: Kysely<UserDatabase>) => Promise<T>) => Promise<T>;

function millis(value: Date | string | null): number | undefined {
  return value === null ? undefined : new Date(value).getTime();
}

function toRecord(row: Row): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    familyId: row.family_id,
    userId: row.user_id,
    issuedAt: new Date(row.issued_at).getTime(),
    expiresAt: new Date(row.expires_at).getTime(),
    rotatedAt: millis(row.rotated_at),
    revokedAt: millis(row.revoked_at),
  };
}

function toRow(token: RefreshTokenRecord) {
  return {
    token_hash: token.tokenHash,
    family_id: token.familyId,
    user_id: token.userId,
    issued_at: new Date(token.issuedAt),
    expires_at: new Date(token.expiresAt),
    rotated_at: token.rotatedAt === undefined ? null : new Date(token.rotatedAt),
    revoked_at: token.revokedAt === undefined ? null : new Date(token.revokedAt),
  };
}

export class SqlRefreshTokenStore implements RefreshTokenStore {
  readonly #db: Kysely<UserDatabase>;
  readonly #transaction: SqlTransactionRunner;

  /** Inside a unit of work, `transaction` just runs the work on the transaction it already has. */
  constructor(db: Kysely<UserDatabase>, transaction: SqlTransactionRunner) {
    this.#db = db;
    this.#transaction = transaction;
  }

  async insert(token: RefreshTokenRecord): Promise<void> {
    await this.#db.insertInto('refresh_tokens').values(toRow(token)).execute();
  }

  async rotate(currentHash: string, next: RefreshTokenRecord, now: number): Promise<boolean> {
    return this.#transaction(async (trx) => {
      // The conditional update is the race referee: only one rotation of a token can match it.
      const claimed = await trx
        .updateTable('refresh_tokens')
        .set({ rotated_at: new Date(now) })
        .where('token_hash', '=', currentHash)
        .where('rotated_at', 'is', null)
        .where('revoked_at', 'is', null)
        .returning('token_hash')
        .executeTakeFirst();
      if (!claimed) return false;
      await trx.insertInto('refresh_tokens').values(toRow(next)).execute();
      return true;
    });
  }

  async find(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.#db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async revokeFamily(familyId: string, now: number): Promise<void> {
    await this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: new Date(now) })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revokeAllOfUser(userId: string, now: number): Promise<void> {
    await this.#db
      .updateTable('refresh_tokens')
      .set({ revoked_at: new Date(now) })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  }
}
