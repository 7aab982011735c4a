import type { EventEnvelope } from '@carshare/contracts';
import { eventList, type Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Car } from '../domain/car.ts';
import type { CarTransaction, RecordedMove, RecordedSettle, SettledCommand, UnitOfWork } from '../ports.ts';
import type { CarDatabase } from './car-database.ts';
import { carColumns, SqlCarStore, toCar } from './sql-car-store.ts';
import { SqlCommandStore, toCommand } from './sql-command-store.ts';

/** One SQL transaction for a use case's writes and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<CarDatabase>;
  readonly #outbox: Outbox;

  constructor(database: ServiceDatabase<CarDatabase>, outbox: Outbox) {
    this.#database = database;
    this.#outbox = outbox;
  }

  run<T>(work: (tx: CarTransaction) => Promise<T>): Promise<T> {
    return this.#database.transaction(async (transaction) => {
      const trx = transaction as unknown as Kysely<CarDatabase>;
      // Written once, when the work is done, in the order they were added: a command and the
      // state change it begins (or an ack and the change it settles) are one outbox statement.
      const events: EventEnvelope[] = [];
      const result = await work({
        cars: new SqlCarStore(trx),
        commands: new SqlCommandStore(trx),
        events: {
          add: async (event) => {
            events.push(...eventList(event));
          },
        },
      });
      await this.#outbox.add(trx, events);
      return result;
    });
  }

  /**
   * BEGIN, the update, the command insert, the outbox insert and COMMIT were five statements on
   * the one PGlite thread; data-modifying CTEs make them one, atomic as a statement is. Of two
   * racing moves the second's update waits for the first, finds the car out of `from` and matches
   * nothing, and so writes no command and no event.
   */
  async move(move: RecordedMove): Promise<Car | undefined> {
    const table = (name: string) => this.#database.table(name);
    const set = [
      sql`state = ${move.to}`,
      ...(move.reservationId === undefined ? [] : [sql`reservation_id = ${move.reservationId}`]),
      sql`version = version + 1`,
      sql`updated_at = ${new Date(move.now)}`,
    ];
    const held = move.heldFor === undefined ? sql`` : sql` and reservation_id = ${move.heldFor}`;
    const { command } = move;
    const insertCommand = command
      ? sql`, command as (
          insert into ${table('commands')} (id, car_id, type, reservation_id, status, expires_at, created_at)
          select ${command.id}::uuid, moved.id, ${command.type}, ${command.reservationId}::uuid, ${command.status}, ${new Date(command.expiresAt)}::timestamptz, ${new Date(command.createdAt)}::timestamptz
          from moved)`
      : sql``;
    const { table: outbox, rows } = this.#outbox.rowsOf(move.events);
    // The VALUES rows are read in order (no join to reorder them): the outbox seqs keep the events' order.
    const insertEvents =
      rows.length === 0
        ? sql``
        : sql`, event as (
          insert into ${outbox} (event_id, event_type, subject, occurred_at, envelope)
          select v.event_id, v.event_type, v.subject, v.occurred_at,
            case when v.event_type = 'car.state_changed' then jsonb_set(v.envelope, '{data,version}', to_jsonb((select version from moved))) else v.envelope end
          from (values ${sql.join(rows.map((row) => sql`(${row})`))}) as v(event_id, event_type, subject, occurred_at, envelope)
          where exists (select 1 from moved))`;
    const { rows: moved } = await sql<Omit<Selectable<CarDatabase['cars']>, 'secret_hash'>>`
      with moved as (
        update ${table('cars')} set ${sql.join(set)}
        where id = ${move.carId} and state = ${move.from}${held}
        returning ${sql.join(carColumns.map((column) => sql.ref(column)))}
      )${insertCommand}${insertEvents}
      select * from moved`.execute(this.#database.db);
    const car = moved[0];
    if (!car) return undefined;
    this.#outbox.announce();
    return toCar(car);
  }

  /**
   * BEGIN, the settle, the car update, the outbox insert and COMMIT as one statement. Both command
   * types' moves and events come in; the settled row's type picks one. The car update joins the
   * settled row, so an unsettled command moves nothing and writes no event; of a racing ack and
   * expiry exactly one settles, as with the transaction.
   */
  async settle(settle: RecordedSettle): Promise<SettledCommand | undefined> {
    const table = (name: string) => this.#database.table(name);
    const { unlock, lock } = settle.byType;
    const now = new Date(settle.now);
    const late = settle.status === 'expired' ? sql`` : sql` and expires_at >= ${now}::timestamptz`;
    const locked = settle.locked === undefined ? sql`` : sql`locked = ${settle.locked}, last_report_at = greatest(c.last_report_at, ${now}::timestamptz), `;
    const tagged = (type: string, onMove: boolean, events: readonly EventEnvelope[]) =>
      this.#outbox.rowsOf(events).rows.map((row) => sql`(${type}::text, ${onMove}::boolean, ${row})`);
    const rows = [
      ...tagged('unlock', false, unlock.settledEvents),
      ...tagged('unlock', true, unlock.movedEvents),
      ...tagged('lock', false, lock.settledEvents),
      ...tagged('lock', true, lock.movedEvents),
    ];
    const columns = sql.join(carColumns.map((column) => sql.ref(`c.${column}`)));
    const { rows: answer } = await sql<{ command: Selectable<CarDatabase['commands']> | null; car: Omit<Selectable<CarDatabase['cars']>, 'secret_hash'> | null; moved: boolean }>`
      with settled as (
        update ${table('commands')} set status = ${settle.status}, settled_at = ${now}::timestamptz, error = ${settle.error ?? null}
        where id = ${settle.commandId} and car_id = ${settle.carId} and status = 'sent'${late}
        returning *
      ), moved as (
        update ${table('cars')} as c set
          state = case s.type when 'unlock' then ${unlock.to} else ${lock.to} end,
          reservation_id = case when (s.type = 'unlock' and ${unlock.releases}::boolean) or (s.type = 'lock' and ${lock.releases}::boolean) then null else c.reservation_id end,
          ${locked}version = c.version + 1, updated_at = ${now}::timestamptz
        from settled as s
        where c.id = s.car_id and c.state = case s.type when 'unlock' then ${unlock.from} else ${lock.from} end
        returning ${columns}
      ), event as (
        insert into ${table('outbox')} (event_id, event_type, subject, occurred_at, envelope)
        select v.event_id, v.event_type, v.subject, v.occurred_at,
          case when v.event_type = 'car.state_changed' then jsonb_set(
            jsonb_set(v.envelope, '{data,version}', to_jsonb((select version from moved))),
            '{data,reservationId}',
            coalesce(to_jsonb((select reservation_id from moved)), to_jsonb((select reservation_id from settled)), 'null'::jsonb)
          ) else v.envelope end
        from (values ${sql.join(rows)}) as v(type, on_move, event_id, event_type, subject, occurred_at, envelope)
        where v.type = (select type from settled) and (not v.on_move or exists (select 1 from moved))
      )
      select
        (select to_jsonb(s) from settled as s) as command,
        coalesce(
          (select to_jsonb(m) from moved as m),
          (select to_jsonb(unmoved) from (select ${columns} from ${table('cars')} as c where c.id = ${settle.carId}) as unmoved)
        ) as car,
        exists (select 1 from moved) as moved`.execute(this.#database.db);
    const row = answer[0];
    if (!row?.command) return undefined;
    this.#outbox.announce();
    return { command: toCommand(row.command), car: row.car ? toCar(row.car) : undefined, moved: row.moved };
  }
}
