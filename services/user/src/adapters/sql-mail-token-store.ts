import type { Kysely, Selectable } from 'kysely';
import type { MailTokenPurpose, MailTokenRecord } from '../domain/mail-token.ts';
import type { MailTokenStore } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';

type Row = Selectable<UserDatabase['mail_tokens']>;

function toRecord(row: Row): MailTokenRecord {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    purpose: row.purpose as MailTokenPurpose,
    email: row.email,
    createdAt: new Date(row.created_at).getTime(),
    expiresAt: new Date(row.expires_at).getTime(),
    usedAt: row.used_at === null ? undefined : new Date(row.used_at).getTime(),
  };
}

export class SqlMailTokenStore implements MailTokenStore {
  readonly #db: Kysely<UserDatabase>;

  /** `db` is the service's database or a transaction on it. */
  constructor(db: Kysely<UserDatabase>) {
    this.#db = db;
  }

  async insert(token: MailTokenRecord): Promise<void> {
    await this.#db
      .insertInto('mail_tokens')
      .values({
        token_hash: token.tokenHash,
        user_id: token.userId,
        purpose: token.purpose,
        email: token.email,
        created_at: new Date(token.createdAt),
        expires_at: new Date(token.expiresAt),
        used_at: token.usedAt === undefined ? null : new Date(token.usedAt),
      })
      .execute();
  }

  async find(tokenHash: string): Promise<MailTokenRecord | undefined> {
    const row = await this.#db.selectFrom('mail_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async use(tokenHash: string, now: number): Promise<boolean> {
    // The condition on used_at is the referee: of two requests with one token, one matches.
    const result = await this.#db
      .updateTable('mail_tokens')
      .set({ used_at: new Date(now) })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async voidUnused(userId: string, purpose: MailTokenPurpose, now: number): Promise<void> {
    await this.#db
      .updateTable('mail_tokens')
      .set({ used_at: new Date(now) })
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .execute();
  }
}
