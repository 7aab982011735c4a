import type { EventEnvelope } from '@carshare/contracts';
import { eventList, type Outbox } from '@carshare/messaging';
import type { ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Car } from '../domain/car.ts';
import type { CarTransaction, RecordedMove, UnitOfWork } from '../ports.ts';
import type { CarDatabase } from './car-database.ts';
import { carColumns, SqlCarStore, toCar } from './sql-car-store.ts';
import { SqlCommandStore } from './sql-command-store.ts';

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
          from (values ${sql.join(rows)}) as v(event_id, event_type, subject, occurred_at, envelope)
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
}
