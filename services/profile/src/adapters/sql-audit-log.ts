import type { Kysely } from 'kysely';
import type { AuditEntry, AuditLog } from '../ports.ts';
import type { ProfileDatabase } from './profile-database.ts';

export class SqlAuditLog implements AuditLog {
  readonly #db: Kysely<ProfileDatabase>;

  constructor(db: Kysely<ProfileDatabase>) {
    this.#db = db;
  }

  async record(entry: AuditEntry): Promise<void> {
    await this.#db
      .insertInto('review_audit')
      .values({
        id: entry.id,
        user_id: entry.userId,
        action: entry.action,
        actor_id: entry.actorId,
        actor_kind: entry.actorKind,
        detail: JSON.stringify(entry.detail),
        at: new Date(entry.at),
      })
      .execute();
  }

  /** Oldest first (ids are UUIDv7), the last `limit` decisions. */
  async historyOf(userId: string, limit: number): Promise<AuditEntry[]> {
    const rows = await this.#db.selectFrom('review_audit').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').limit(limit).execute();
    return rows.reverse().map((row) => ({
      id: row.id,
      userId: row.user_id,
      action: row.action as AuditEntry['action'],
      actorId: row.actor_id,
      actorKind: row.actor_kind as AuditEntry['actorKind'],
      detail: row.detail,
      at: new Date(row.at).getTime(),
    }));
  }
}
