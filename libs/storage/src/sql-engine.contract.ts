import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { isAbortedTransactionError, sql } from 'kysely';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { isUniqueViolation, uniqueViolationConstraint } from './is-unique-violation.ts';
import type { SqlEngine, SqlEngineKind } from './sql-engine.ts';

/** What the contract needs from an engine under test. */
export interface SqlEngineFixture {
  readonly kind: SqlEngineKind;
  /** Opens an engine on the fixture's storage; called again after close() to reopen it. */
  open(): Promise<SqlEngine>;
  /** A schema name unique to this run, so runs sharing a server never collide. */
  schema(name: string): string;
  /** Whether a second engine may be open on the same storage at once (a second process). */
  readonly allowsConcurrentEngines: boolean;
  /** Removes everything the run created (schemas, temp dirs). */
  cleanup(): Promise<void>;
}

function hasReason(reason: string, ...mentions: string[]) {
  return (error: unknown): boolean => {
    assert.ok(isAppError(error), `expected an AppError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    for (const mention of mentions) assert.match(error.message, new RegExp(mention.replaceAll('.', '\\.')));
    return true;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const thingsTable = `create table things (id int primary key, label text not null unique);\n`;

/** Registers the behaviour every SQL engine must show; run it once per engine. */
export function runSqlEngineContract(name: string, createFixture: () => Promise<SqlEngineFixture>): void {
  describe(`SqlEngine contract: ${name}`, () => {
    let fixture: SqlEngineFixture;
    let engine: SqlEngine;
    let migrationsRoot: string;

    async function migrationsDir(files: Record<string, string>): Promise<string> {
      const dir = await mkdtemp(join(migrationsRoot, 'm-'));
      await writeMigrationFiles(dir, files);
      return dir;
    }

    async function writeMigrationFiles(dir: string, files: Record<string, string>): Promise<void> {
      for (const [fileName, text] of Object.entries(files)) await writeFile(join(dir, fileName), text);
    }

    before(async () => {
      fixture = await createFixture();
      engine = await fixture.open();
      migrationsRoot = await mkdtemp(join(tmpdir(), 'carshare-migrations-'));
    });

    after(async () => {
      await engine?.close();
      await fixture?.cleanup();
      if (migrationsRoot) await rm(migrationsRoot, { recursive: true, force: true });
    });

    it('reports its kind', () => {
      assert.equal(engine.kind, fixture.kind);
    });

    it('memoises one service database per schema and rejects unsafe schema names', () => {
      const schema = fixture.schema('memo');
      assert.equal(engine.forService(schema), engine.forService(schema));
      assert.throws(() => engine.forService('Bad-Name"; drop'), hasReason('INVALID_SCHEMA_NAME'));
      assert.throws(() => engine.forService('pg_catalog'), hasReason('INVALID_SCHEMA_NAME'));
    });

    it('applies migrations once, in numeric order, recording each with a checksum', async () => {
      const service = engine.forService(fixture.schema('mig_order'));
      // 0002 and 0010 depend on the files before them: a wrong order fails loudly.
      const dir = await migrationsDir({
        '0010-add-colour.sql': `alter table cars add column colour text not null default 'white';\n`,
        '0001-create-cars.sql': `create table cars (id int primary key, plate text not null);\n`,
        '0002-seed-cars.sql': `insert into cars (id, plate) values (1, 'B-CS-1');\ninsert into cars (id, plate) values (2, 'B-CS-2');\n`,
      });

      assert.deepEqual(await service.migrate(dir), { applied: ['0001-create-cars.sql', '0002-seed-cars.sql', '0010-add-colour.sql'] });
      assert.deepEqual(await service.migrate(dir), { applied: [] });

      const recorded = await service.db.selectFrom('schema_migrations').select(['version', 'name', 'checksum']).orderBy('applied_at').orderBy('version').execute();
      assert.deepEqual(recorded.map((row) => row.name), ['0001-create-cars.sql', '0002-seed-cars.sql', '0010-add-colour.sql']);
      for (const row of recorded) assert.match(String(row.checksum), /^[0-9a-f]{64}$/);
      const cars = await service.db.selectFrom('cars').selectAll().orderBy('id').execute();
      assert.deepEqual(cars, [
        { id: 1, plate: 'B-CS-1', colour: 'white' },
        { id: 2, plate: 'B-CS-2', colour: 'white' },
      ]);

      await writeMigrationFiles(dir, { '0011-index-plate.sql': 'create unique index cars_plate on cars (plate);\n' });
      assert.deepEqual(await service.migrate(dir), { applied: ['0011-index-plate.sql'] });
    });

    it('fails fast, naming the file, when an applied migration was edited', async () => {
      const service = engine.forService(fixture.schema('mig_drift'));
      const dir = await migrationsDir({ '0001-create-things.sql': thingsTable });
      await service.migrate(dir);

      await writeMigrationFiles(dir, { '0001-create-things.sql': thingsTable.replace('label text', 'label varchar') });
      await assert.rejects(service.migrate(dir), hasReason('MIGRATION_CHECKSUM_MISMATCH', '0001-create-things.sql'));

      // Only line endings changed (a Windows checkout): not an edit.
      await writeMigrationFiles(dir, { '0001-create-things.sql': thingsTable.replaceAll('\n', '\r\n') });
      assert.deepEqual(await service.migrate(dir), { applied: [] });
    });

    it('rolls back a failing migration alone and names it; the fixed file applies next time', async () => {
      const service = engine.forService(fixture.schema('mig_fail'));
      const dir = await migrationsDir({
        '0001-create-things.sql': thingsTable,
        '0002-broken.sql': 'create table extras (id int);\nselect 1 / 0;\n',
      });

      await assert.rejects(service.migrate(dir), hasReason('MIGRATION_FAILED', '0002-broken.sql'));
      const recorded = await service.db.selectFrom('schema_migrations').select('name').execute();
      assert.deepEqual(recorded, [{ name: '0001-create-things.sql' }]);
      const extras = await sql<{ found: string | null }>`select to_regclass('extras')::text as found`.execute(service.db);
      assert.deepEqual(extras.rows, [{ found: null }]);

      await writeMigrationFiles(dir, { '0002-broken.sql': 'create table extras (id int);\n' });
      assert.deepEqual(await service.migrate(dir), { applied: ['0002-broken.sql'] });
    });

    it('refuses misnamed, duplicate-numbered, out-of-order and vanished migrations', async () => {
      const service = engine.forService(fixture.schema('mig_rules'));
      await assert.rejects(service.migrate(await migrationsDir({ '1-things.sql': thingsTable })), hasReason('MIGRATION_NAME_INVALID', '1-things.sql'));
      await assert.rejects(
        service.migrate(await migrationsDir({ '0001-a.sql': thingsTable, '0001-b.sql': 'select 1;' })),
        hasReason('MIGRATION_VERSION_DUPLICATE', '0001-a.sql', '0001-b.sql'),
      );
      await assert.rejects(service.migrate(join(migrationsRoot, 'missing')), hasReason('MIGRATIONS_DIR_MISSING'));

      const dir = await migrationsDir({ '0001-things.sql': thingsTable, '0003-more.sql': 'create table more (id int);\n' });
      await service.migrate(dir);
      await writeMigrationFiles(dir, { '0002-late.sql': 'create table late (id int);\n' });
      await assert.rejects(service.migrate(dir), hasReason('MIGRATION_OUT_OF_ORDER', '0002-late.sql'));

      const other = await migrationsDir({ '0001-things.sql': thingsTable });
      await assert.rejects(service.migrate(other), hasReason('MIGRATION_FILE_MISSING', '0003-more.sql'));
    });

    it('keeps a separate ledger per folder, so a library\'s tables migrate beside the service\'s own', async () => {
      const service = engine.forService(fixture.schema('mig_ledgers'));
      const own = await migrationsDir({ '0001-things.sql': thingsTable });
      const library = await migrationsDir({ '0001-outbox.sql': 'create table outbox (seq int);\n', '0002-inbox.sql': 'create table inbox (id int);\n' });
      assert.deepEqual(await service.migrate(own), { applied: ['0001-things.sql'] });
      assert.deepEqual(await service.migrate(library, { ledger: 'library_migrations' }), { applied: ['0001-outbox.sql', '0002-inbox.sql'] });
      assert.deepEqual(await service.migrate(own), { applied: [] }, 'the library\'s versions are not the service\'s missing files');
      const recorded = await service.db.selectFrom('library_migrations').select(['version', 'name']).orderBy('version').execute();
      assert.deepEqual(recorded, [{ version: '0001', name: '0001-outbox.sql' }, { version: '0002', name: '0002-inbox.sql' }]);
      await assert.rejects(service.migrate(library, { ledger: 'x; drop table things' }), TypeError);
    });

    it('takes over a ledger written without a version column (messaging_migrations before the shared runner)', async () => {
      const service = engine.forService(fixture.schema('mig_legacy'));
      const library = await migrationsDir({ '0001-outbox.sql': 'create table outbox (seq int);\n' });
      await service.migrate(library, { ledger: 'library_migrations' });
      const [row] = await service.db.selectFrom('library_migrations').select(['name', 'checksum']).execute();
      await sql`drop table library_migrations`.execute(service.db);
      await sql`create table library_migrations (name text primary key, checksum text not null, applied_at timestamptz not null default now())`.execute(service.db);
      await sql`insert into library_migrations (name, checksum) values (${row?.name}, ${row?.checksum})`.execute(service.db);
      await writeMigrationFiles(library, { '0002-inbox.sql': 'create table inbox (id int);\n' });
      assert.deepEqual(await service.migrate(library, { ledger: 'library_migrations' }), { applied: ['0002-inbox.sql'] });
      const recorded = await service.db.selectFrom('library_migrations').select(['version', 'name']).orderBy('version').execute();
      assert.deepEqual(recorded, [{ version: '0001', name: '0001-outbox.sql' }, { version: '0002', name: '0002-inbox.sql' }]);
    });

    it('lets concurrent migrate calls of one service apply each file exactly once', async () => {
      const schema = fixture.schema('mig_race');
      const files: Record<string, string> = { '0001-things.sql': thingsTable };
      for (let i = 2; i <= 6; i++) files[`000${i}-row-${i}.sql`] = `insert into things (id, label) values (${i}, 'row ${i}');\n`;
      const dir = await migrationsDir(files);

      // Two engines on one server behave like two processes starting together.
      const second = fixture.allowsConcurrentEngines ? await fixture.open() : engine;
      try {
        const results = await Promise.all([engine.forService(schema).migrate(dir), second.forService(schema).migrate(dir)]);
        const applied = results.flatMap((result) => result.applied).sort();
        assert.deepEqual(applied, Object.keys(files).sort());
      } finally {
        if (second !== engine) await second.close();
      }
      const rows = await engine.forService(schema).db.selectFrom('things').select('id').orderBy('id').execute();
      assert.deepEqual(rows.map((row) => row.id), [2, 3, 4, 5, 6]);
    });

    it('keeps services apart: the same table name in two schemas holds separate rows', async () => {
      const users = engine.forService(fixture.schema('iso_users'));
      const cars = engine.forService(fixture.schema('iso_cars'));
      const dir = await migrationsDir({ '0001-things.sql': thingsTable });
      await users.migrate(dir);
      await cars.migrate(dir);

      await users.db.insertInto('things').values({ id: 1, label: 'user thing' }).execute();
      await sql`insert into things (id, label) values (1, ${'car thing'})`.execute(cars.db);
      await sql`insert into ${sql.table('things')} (id, label) values (2, ${'second car thing'})`.execute(cars.db);

      const userRows = await sql<{ label: string }>`select label from things order by id`.execute(users.db);
      assert.deepEqual(userRows.rows, [{ label: 'user thing' }]);
      const carRows = await cars.db.selectFrom('things').select('label').orderBy('id').execute();
      assert.deepEqual(carRows, [{ label: 'car thing' }, { label: 'second car thing' }]);

      const where = await sql<{ schema: string }>`select current_schema() as schema`.execute(cars.db);
      assert.deepEqual(where.rows, [{ schema: cars.schema }]);

      // A service without the table must not fall through to another schema's.
      const stranger = engine.forService(fixture.schema('iso_stranger'));
      await stranger.migrate(await migrationsDir({ '0001-other.sql': 'create table other (id int);\n' }));
      await assert.rejects(sql`select * from things`.execute(stranger.db), (error: unknown) => (error as { code?: string }).code === '42P01');
    });

    it('commits a transaction and rolls it back when the work throws', async () => {
      const service = engine.forService(fixture.schema('trx'));
      await service.migrate(await migrationsDir({ '0001-things.sql': thingsTable }));

      const returned = await service.transaction(async (trx) => {
        await trx.insertInto('things').values({ id: 1, label: 'kept' }).execute();
        await sql`insert into things (id, label) values (2, 'kept too')`.execute(trx);
        return 'done';
      });
      assert.equal(returned, 'done');

      const failure = new Error('work failed');
      await assert.rejects(
        service.transaction(async (trx) => {
          await trx.insertInto('things').values({ id: 3, label: 'discarded' }).execute();
          await sql`update things set label = 'changed' where id = 1`.execute(trx);
          throw failure;
        }),
        (error: unknown) => error === failure,
      );

      const rows = await service.db.selectFrom('things').select(['id', 'label']).orderBy('id').execute();
      assert.deepEqual(rows, [
        { id: 1, label: 'kept' },
        { id: 2, label: 'kept too' },
      ]);
    });

    it('supports savepoints and isolation levels inside a transaction', async () => {
      const service = engine.forService(fixture.schema('trx_savepoint'));
      await service.migrate(await migrationsDir({ '0001-things.sql': thingsTable }));

      const trx = await service.db.startTransaction().setIsolationLevel('serializable').execute();
      try {
        const level = await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(trx);
        assert.deepEqual(level.rows, [{ level: 'serializable' }]);
        await trx.insertInto('things').values({ id: 1, label: 'before savepoint' }).execute();
        const attempt = await trx.savepoint('attempt').execute();
        await attempt.insertInto('things').values({ id: 2, label: 'undone' }).execute();
        await attempt.rollbackToSavepoint('attempt').execute();
        await trx.commit().execute();
      } catch (error) {
        await trx.rollback().execute();
        throw error;
      }

      await assert.rejects(
        service.db
          .transaction()
          .setAccessMode('read only')
          .execute((readOnly) => readOnly.insertInto('things').values({ id: 3, label: 'refused' }).execute()),
        (error: unknown) => (error as { code?: string }).code === '25006',
      );
      const rows = await service.db.selectFrom('things').select('id').execute();
      assert.deepEqual(rows, [{ id: 1 }]);
    });

    it('refuses to commit a transaction whose statement failed even if the work swallowed the error', async () => {
      const service = engine.forService(fixture.schema('trx_aborted'));
      await service.migrate(await migrationsDir({ '0001-things.sql': thingsTable }));
      await assert.rejects(
        service.transaction(async (trx) => {
          await trx.insertInto('things').values({ id: 1, label: 'first' }).execute();
          await trx.insertInto('things').values({ id: 1, label: 'duplicate' }).execute().catch(() => undefined);
        }),
        (error: unknown) => isAbortedTransactionError(error),
      );
      assert.deepEqual(await service.db.selectFrom('things').selectAll().execute(), []);
    });

    it('runs concurrent transactions of two services without mixing their statements', async () => {
      const trips = engine.forService(fixture.schema('conc_trips'));
      const cars = engine.forService(fixture.schema('conc_cars'));
      const dir = await migrationsDir({ '0001-things.sql': thingsTable });
      await trips.migrate(dir);
      await cars.migrate(dir);

      // Every transaction yields between statements, inviting the other service to run in the
      // middle; each checks it sees exactly its own rows at the end.
      const work = Array.from({ length: 12 }, (_, index) => {
        const service = index % 2 === 0 ? trips : cars;
        return service.transaction(async (trx) => {
          for (let step = 0; step < 3; step++) {
            const id = index * 10 + step;
            await trx.insertInto('things').values({ id, label: `${service.schema}:${id}` }).execute();
            await sleep(2);
          }
          const mine = await sql<{ n: number }>`select count(*) as n from things where id between ${index * 10} and ${index * 10 + 2}`.execute(trx);
          assert.deepEqual(mine.rows, [{ n: 3 }]);
          return index;
        });
      });
      // An autocommit write while a rolled-back transaction of the other service sleeps must
      // survive that rollback, i.e. it did not run inside it.
      const rolledBack = trips
        .transaction(async (trx) => {
          await trx.insertInto('things').values({ id: 999, label: 'rolled back' }).execute();
          await sleep(30);
          throw new Error('roll back');
        })
        .catch((error: unknown) => error);
      await sleep(5);
      await cars.db.insertInto('things').values({ id: 998, label: 'autocommit' }).execute();

      assert.deepEqual(await Promise.all(work), Array.from({ length: 12 }, (_, index) => index));
      assert.match(String(await rolledBack), /roll back/);

      const tripLabels = await trips.db.selectFrom('things').select('label').execute();
      const carLabels = await cars.db.selectFrom('things').select('label').execute();
      assert.equal(tripLabels.length, 18);
      assert.equal(carLabels.length, 19);
      assert.ok(tripLabels.every((row) => row.label.startsWith(`${trips.schema}:`)));
      assert.ok(carLabels.every((row) => row.label.startsWith(`${cars.schema}:`) || row.label === 'autocommit'));
    });

    it('runs a batch as one transaction: a guard that changes nothing, or a failing statement, undoes all of it', async () => {
      const service = engine.forService(fixture.schema('batch'));
      await service.migrate(await migrationsDir({ '0001-things.sql': thingsTable }));
      const things = service.table('things');
      const notThere = new Error('thing 7 is not there');

      const results = await service.batch([
        { query: service.db.insertInto('things').values({ id: 1, label: 'one' }) },
        { query: sql`insert into ${things} (id, label) values (2, 'two') returning id`.compile(service.db) },
        { query: sql`update ${things} set label = 'one, changed' where id = 1`.compile(service.db), orElse: () => notThere },
        // Unqualified: runs in the service's schema all the same.
        { query: sql`select count(*)::int as n from things`.compile(service.db) },
      ]);
      assert.equal(results[0]?.numAffectedRows, 1n);
      assert.deepEqual(results[1]?.rows, [{ id: 2 }]);
      assert.equal(results[2]?.numAffectedRows, 1n);
      assert.deepEqual(results[3]?.rows, [{ n: 2 }]);

      await assert.rejects(
        service.batch([
          { query: service.db.insertInto('things').values({ id: 3, label: 'undone' }) },
          { query: service.db.updateTable('things').set({ label: 'undone too' }).where('id', '=', 2) },
          { query: service.db.updateTable('things').set({ label: 'seven' }).where('id', '=', 7), orElse: () => notThere },
          { query: service.db.insertInto('things').values({ id: 4, label: 'never run' }) },
        ]),
        (error: unknown) => error === notThere,
      );
      await assert.rejects(
        service.batch([
          { query: service.db.insertInto('things').values({ id: 5, label: 'undone' }) },
          { query: service.db.insertInto('things').values({ id: 6, label: 'two' }) },
        ]),
        (error: unknown) => isUniqueViolation(error),
      );
      // A select guards by the rows it returns.
      await assert.rejects(
        service.batch([
          { query: service.db.insertInto('things').values({ id: 8, label: 'undone' }) },
          { query: service.db.selectFrom('things').select('id').where('id', '=', 7), orElse: () => notThere },
        ]),
        (error: unknown) => error === notThere,
      );

      const rows = await service.db.selectFrom('things').select(['id', 'label']).orderBy('id').execute();
      assert.deepEqual(rows, [
        { id: 1, label: 'one, changed' },
        { id: 2, label: 'two' },
      ]);
    });

    it('keeps batches, transactions and lone statements sent at once apart', async () => {
      const service = engine.forService(fixture.schema('batch_mixed'));
      await service.migrate(await migrationsDir({ '0001-things.sql': thingsTable }));
      const refused = new Error('refused');
      // Odd batches end on a guard that fails, so their rollback lands among the others' work:
      // it must undo their own statements and nothing of anyone else's.
      const work = Array.from({ length: 30 }, (_, index) => {
        const id = index * 10;
        if (index % 3 === 0) {
          return service
            .batch([
              { query: service.db.insertInto('things').values({ id, label: `batch ${id}` }) },
              { query: service.db.insertInto('things').values({ id: id + 1, label: `batch ${id + 1}` }) },
              { query: service.db.updateTable('things').set({ label: `batch ${id} checked` }).where('id', '=', index % 2 === 0 ? id : -1), orElse: () => refused },
            ])
            .then(
              () => 'committed',
              (error: unknown) => {
                if (error !== refused) throw error;
                return 'refused';
              },
            );
        }
        if (index % 3 === 1) {
          return service
            .transaction(async (trx) => {
              await trx.insertInto('things').values({ id, label: `trx ${id}` }).execute();
              if (index % 2 === 1) throw refused;
            })
            .then(
              () => 'committed',
              (error: unknown) => {
                if (error !== refused) throw error;
                return 'refused';
              },
            );
        }
        return service.db
          .insertInto('things')
          .values({ id, label: `alone ${id}` })
          .execute()
          .then(() => 'committed');
      });
      const outcomes = await Promise.all(work);

      const expected = outcomes.flatMap((outcome, index) => {
        const id = index * 10;
        if (outcome !== 'committed') return [];
        if (index % 3 === 0) return [id, id + 1];
        return [id];
      });
      const rows = await service.db.selectFrom('things').select('id').orderBy('id').execute();
      assert.deepEqual(
        rows.map((row) => row.id),
        expected,
      );
      assert.deepEqual(
        outcomes.map((outcome, index) => (index % 3 === 2 ? 'committed' : index % 2 === 0 ? 'committed' : 'refused')),
        outcomes,
      );
    });

    it('recognises unique violations and names the constraint', async () => {
      const service = engine.forService(fixture.schema('unique'));
      await service.migrate(await migrationsDir({ '0001-things.sql': thingsTable }));
      await service.db.insertInto('things').values({ id: 1, label: 'taken' }).execute();

      const duplicate = await service.db.insertInto('things').values({ id: 2, label: 'taken' }).execute().catch((error: unknown) => error);
      assert.equal(isUniqueViolation(duplicate), true);
      assert.equal(uniqueViolationConstraint(duplicate), 'things_label_key');

      const inTransaction = await service
        .transaction((trx) => trx.insertInto('things').values({ id: 1, label: 'other' }).execute())
        .catch((error: unknown) => error);
      assert.equal(isUniqueViolation(inTransaction), true);
      assert.equal(uniqueViolationConstraint(inTransaction), 'things_pkey');

      const notNull = await sql`insert into things (id, label) values (3, null)`.execute(service.db).catch((error: unknown) => error);
      assert.ok(notNull instanceof Error);
      assert.equal(isUniqueViolation(notNull), false);
    });

    it('pages with keyset cursors whose values bind as query parameters', async () => {
      const service = engine.forService(fixture.schema('cursor'));
      await service.migrate(
        await migrationsDir({ '0001-events.sql': 'create table events (id int primary key, created_at timestamptz not null);\n' }),
      );
      const base = Date.UTC(2025, 0, 1);
      // Pairs share a timestamp so the id tie-breaker matters.
      const events = Array.from({ length: 7 }, (_, index) => ({ id: index + 1, created_at: new Date(base + Math.floor(index / 2) * 1000) }));
      await service.db.insertInto('events').values(events).execute();

      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        let query = service.db.selectFrom('events').select(['id', 'created_at']).orderBy('created_at').orderBy('id').limit(3);
        if (cursor !== undefined) {
          const [createdAt, id] = decodeCursor(cursor);
          assert.ok(createdAt instanceof Date);
          query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(createdAt, id)));
        }
        const page = await query.execute();
        seen.push(...page.map((row) => row.id as number));
        const last = page.at(-1);
        cursor = page.length === 3 && last ? encodeCursor([last.created_at, last.id]) : undefined;
      } while (cursor !== undefined);
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
    });

    it('reads values with the same JavaScript types on both engines', async () => {
      const service = engine.forService(fixture.schema('types'));
      const result = await sql<Record<string, unknown>>`
        select count(*) as count, 42::int8 as int8, 9007199254740993::int8 as huge, array[1, 2]::int8[] as int8s,
               1.5::numeric as numeric, '2024-02-29'::date as day, ${new Date('2024-01-02T03:04:05.678Z')}::timestamptz as at,
               ${JSON.stringify({ a: [1, 'x'] })}::jsonb as doc, ${true}::bool as flag, ${7}::int4 as int4,
               ${['a', 'b,c']}::text[] as texts
        from (values (1), (2)) as v (n)`.execute(service.db);
      assert.deepEqual(result.rows, [
        {
          count: 2,
          int8: 42,
          huge: 9007199254740993n,
          int8s: [1, 2],
          numeric: '1.5',
          day: new Date('2024-02-29T00:00:00.000Z'),
          at: new Date('2024-01-02T03:04:05.678Z'),
          doc: { a: [1, 'x'] },
          flag: true,
          int4: 7,
          texts: ['a', 'b,c'],
        },
      ]);
    });

    it('answers ping while open', async () => {
      await engine.forService(fixture.schema('ping')).ping();
    });

    it('keeps data across close and reopen, and pings Unavailable once closed', async () => {
      const schema = fixture.schema('durable');
      const dir = await migrationsDir({ '0001-things.sql': thingsTable });
      const first = engine.forService(schema);
      await first.migrate(dir);
      await first.db.insertInto('things').values({ id: 1, label: 'survives' }).execute();
      await engine.close();

      await assert.rejects(first.ping(), (error: unknown) => isAppError(error) && error.code === 'UNAVAILABLE');
      assert.throws(() => engine.forService(schema), hasReason('SQL_ENGINE_CLOSED'));

      engine = await fixture.open();
      const reopened = engine.forService(schema);
      assert.deepEqual(await reopened.migrate(dir), { applied: [] });
      assert.deepEqual(await reopened.db.selectFrom('things').selectAll().execute(), [{ id: 1, label: 'survives' }]);
    });
  });
}
