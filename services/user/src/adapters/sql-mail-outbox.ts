import type { IdGenerator } from '@carshare/platform';
import type { Kysely } from 'kysely';
import type { Mail, MailOutbox } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';

export interface StoredMail extends Mail {
  id: string;
  createdAt: number;
  attempts: number;
  sentAt: number | undefined;
  lastError: string | undefined;
}

/** The mail_outbox table: written inside the change's transaction, read by the relay and the CLI. */
export class SqlMailOutbox implements MailOutbox {
  readonly #db: Kysely<UserDatabase>;
  readonly #ids: IdGenerator;
  readonly #now: () => number;

  constructor(db: Kysely<UserDatabase>, ids: IdGenerator, now: () => number) {
    this.#db = db;
    this.#ids = ids;
    this.#now = now;
  }

  async add(mail: Mail): Promise<void> {
    await this.#db
      .insertInto('mail_outbox')
      .values({ id: this.#ids.next(), recipient: mail.to, subject: mail.subject, body: mail.text, created_at: new Date(this.#now()) })
      .execute();
  }

  /** Newest first; `recipient` narrows to one address. */
  async list(options: { limit: number; recipient?: string; pendingOnly?: boolean }): Promise<StoredMail[]> {
    let query = this.#db.selectFrom('mail_outbox').selectAll();
    if (options.recipient !== undefined) query = query.where('recipient', '=', options.recipient.trim().toLowerCase());
    if (options.pendingOnly) query = query.where('sent_at', 'is', null).orderBy('created_at', 'asc').orderBy('id', 'asc');
    else query = query.orderBy('created_at', 'desc').orderBy('id', 'desc');
    const rows = await query.limit(options.limit).execute();
    return rows.map((row) => ({
      id: row.id,
      to: row.recipient,
      subject: row.subject,
      text: row.body,
      createdAt: new Date(row.created_at).getTime(),
      attempts: row.attempts,
      sentAt: row.sent_at === null ? undefined : new Date(row.sent_at).getTime(),
      lastError: row.last_error ?? undefined,
    }));
  }

  async markSent(id: string, now: number): Promise<void> {
    await this.#db.updateTable('mail_outbox').set((eb) => ({ sent_at: new Date(now), attempts: eb('attempts', '+', 1), last_error: null })).where('id', '=', id).execute();
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.#db.updateTable('mail_outbox').set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 500) })).where('id', '=', id).execute();
  }
}
