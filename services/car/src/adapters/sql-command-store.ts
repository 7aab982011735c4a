import { sql, type Kysely, type Selectable } from 'kysely';
import type { CommandStore, StoredCommand } from '../ports.ts';
import type { CarDatabase } from './car-database.ts';

type CommandRow = Selectable<CarDatabase['commands']>;

export function toCommand(row: CommandRow): StoredCommand {
  return {
    id: row.id,
    carId: row.car_id,
    type: row.type as StoredCommand['type'],
    reservationId: row.reservation_id,
    status: row.status as StoredCommand['status'],
    expiresAt: new Date(row.expires_at).getTime(),
    createdAt: new Date(row.created_at).getTime(),
  };
}

/** The command log: every lock/unlock sent to a device and how it ended. */
export class SqlCommandStore implements CommandStore {
  readonly #db: Kysely<CarDatabase>;

  constructor(db: Kysely<CarDatabase>) {
    this.#db = db;
  }

  async insert(command: StoredCommand): Promise<void> {
    await this.#db
      .insertInto('commands')
      .values({
        id: command.id,
        car_id: command.carId,
        type: command.type,
        reservation_id: command.reservationId,
        status: command.status,
        expires_at: new Date(command.expiresAt),
        created_at: new Date(command.createdAt),
      })
      .execute();
  }

  async find(id: string): Promise<StoredCommand | undefined> {
    const row = await this.#db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCommand(row) : undefined;
  }

  async settle(id: string, carId: string, status: 'acked' | 'refused' | 'expired', now: number, error: string | undefined): Promise<StoredCommand | undefined> {
    let update = this.#db
      .updateTable('commands')
      .set({ status, settled_at: new Date(now), error: error ?? null })
      .where('id', '=', id)
      // An ack names its command; the car it came from must be the one the command went to.
      .where('car_id', '=', carId)
      .where('status', '=', 'sent');
    // An answer after the deadline is late: the caller was already told DEADLINE_EXCEEDED.
    if (status !== 'expired') update = update.where('expires_at', '>=', new Date(now));
    const row = await update.returningAll().executeTakeFirst();
    return row ? toCommand(row) : undefined;
  }

  async overdue(now: number, limit: number): Promise<StoredCommand[]> {
    const rows = await this.#db
      .selectFrom('commands')
      .selectAll()
      .where('status', '=', 'sent')
      .where(sql<boolean>`expires_at < ${new Date(now)}`)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows.map(toCommand);
  }
}
