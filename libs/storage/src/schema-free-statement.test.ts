import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, WithSchemaPlugin, type Compilable, type RawBuilder } from 'kysely';
import { PgliteThread } from './pglite-thread.ts';
import { isSchemaFree } from './schema-free-statement.ts';
import { openSqlEngine } from './sql-engine.ts';
import { temporaryDirectory } from './test-database.ts';

// Only compiles: the verdict is about the statement's text and tree, not about running it.
const db = new Kysely<any>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
  plugins: [new WithSchemaPlugin('svc')],
});
const table = (name: string) => sql.table(`svc.${name}`);

function free(query: Compilable | RawBuilder<unknown>): boolean {
  return isSchemaFree((isRaw(query) ? query.compile(db) : query.compile()).query);
}

function isRaw(query: Compilable | RawBuilder<unknown>): query is RawBuilder<unknown> {
  return 'isRawBuilder' in query;
}

describe('isSchemaFree', () => {
  it('passes builder queries, which the schema plugin qualifies, CTEs and aliases included', () => {
    assert.equal(free(db.selectFrom('things').selectAll().where('id', '=', 1)), true);
    assert.equal(free(db.selectFrom('things as t').innerJoin('others as o', 'o.id', 't.id').select(['t.id', 'o.label'])), true);
    assert.equal(free(db.insertInto('things').values({ id: 1, label: 'a' }).onConflict((oc) => oc.column('id').doUpdateSet({ label: 'b' }))), true);
    assert.equal(free(db.updateTable('things').set({ version: sql`version + 1`, at: sql`greatest(at, ${new Date()}::timestamptz)` }).where('id', '=', 1)), true);
    assert.equal(free(db.deleteFrom('things').where('id', 'in', db.selectFrom('others').select('id'))), true);
    assert.equal(
      free(
        db
          .with('updated', (qb) => qb.updateTable('things').set({ label: 'x' }).where('id', '=', 1).returning('version'))
          .insertInto('events')
          .columns(['version'])
          .expression((eb) => eb.selectFrom('updated').select('version')),
      ),
      true,
    );
    assert.equal(free(db.selectFrom('things').select(sql<number>`count(*)`.as('n')).where(sql<boolean>`id = any(${[1, 2]}::int[])`)), true);
  });

  it('passes raw SQL whose relations are all qualified, or are CTEs, subqueries and functions', () => {
    assert.equal(free(sql`select 1`), true);
    assert.equal(free(sql`select * from ${table('things')} where id = ${1} for update`), true);
    assert.equal(free(sql`select * from "svc"."things" t, "svc".others o where t.id = o.id`), true);
    assert.equal(free(sql`insert into ${table('things')} (id) values (${1}) on conflict (id) do update set label = excluded.label`), true);
    assert.equal(
      free(sql`with lease as (update ${table('saga')} set at = ${1} where id = ${2} returning id) update ${table('saga_step')} set status = 'done' where saga_id = (select id from lease)`),
      true,
    );
    assert.equal(free(sql`insert into ${table('archive')} (id, day) select r.id, r.day from jsonb_to_recordset(${'[]'}::jsonb) as r(id uuid, day date) on conflict do nothing`), true);
    assert.equal(free(sql`update ${table('cars')} as c set lat = v.lat from (values (${1}::uuid, ${2}::float8)) as v(id, lat) where c.id = v.id`), true);
    assert.equal(free(sql`select 'from things' as label`), true);
  });

  it('sends anything that may name a relation unqualified, or reads the search_path, to the search_path', () => {
    assert.equal(free(sql`select * from things`), false);
    assert.equal(free(sql`insert into ${sql.table('things')} (id) values (1)`), false);
    assert.equal(free(sql`update things set label = 'x'`), false);
    assert.equal(free(sql`select * from ${table('things')} t, others o`), false);
    assert.equal(free(sql`select * from ${table('things')} t join others o on o.id = t.id`), false);
    assert.equal(free(sql`delete from ${table('things')} using others where others.id = things.id`), false);
    assert.equal(free(sql`with x as (select 1) select * from x, things`), false);
    assert.equal(free(sql`select current_schema()`), false);
    assert.equal(free(sql`select nextval('things_id_seq')`), false);
    assert.equal(free(sql`select 'things'::regclass`), false);
    assert.equal(free(sql`select ${'a'}::mood`), false);
    assert.equal(free(sql`create table ${table('things')} (id int)`), false);
    assert.equal(free(sql`truncate ${table('things')}`), false);
    assert.equal(free(sql`set search_path to svc`), false);
    assert.equal(free(db.selectFrom('things').selectAll().where(sql<boolean>`exists (select 1 from others)`)), false);
    assert.equal(free(db.selectFrom(sql.table('things').as('t')).selectAll()), false);
  });
});

describe('PGlite: schema-qualified statements skip the search_path switch', () => {
  let root: { path: string; remove(): Promise<void> };
  before(async () => {
    root = await temporaryDirectory('carshare-schema-free-');
  });
  after(() => root.remove());

  // Both places PGlite can run (ADR 0031): what is spied on is the session object the dialect talks to.
  for (const [pgliteThread, session] of [['worker', PgliteThread], ['event-loop', PGlite]] as const) {
    it(`switches only for statements that need it, and unqualified names still resolve to their own schema (${pgliteThread})`, async () => {
      const engine = await openSqlEngine({ dataDir: `${root.path}/db-${pgliteThread}`, pgliteThread });
      const switches: string[] = [];
      /** Parameterised statements by whether the dialect let them be kept prepared. */
      const kept = new Map<string, boolean>();
      // Both ways a statement reaches PGlite: a switch is sent by exec (no parameters), but it must
      // not escape the count by moving back to query.
      const proto = session.prototype as unknown as Record<'query' | 'exec', (text: string, ...rest: unknown[]) => Promise<unknown>>;
      const originals = { query: proto.query, exec: proto.exec };
      for (const method of ['query', 'exec'] as const) {
        const original = originals[method];
        proto[method] = function (this: unknown, text: string, ...rest: unknown[]) {
          if (/^set search_path/.test(text)) switches.push(text);
          if (method === 'query') kept.set(text, (rest[1] as { prepare?: boolean } | undefined)?.prepare === true);
          return original.call(this, text, ...rest);
        };
      }
      try {
        const a = engine.forService('sf_a');
        const b = engine.forService('sf_b');
        for (const service of [a, b]) {
          await sql`create schema ${sql.id(service.schema)}`.execute(service.db);
          await sql`create table things (id int primary key, label text)`.execute(service.db);
        }
        switches.length = 0;

        // Builder statements and qualified raw ones of both services, interleaved: no switch.
        for (let id = 1; id <= 3; id++) {
          await a.db.insertInto('things').values({ id, label: `a${id}` }).execute();
          await sql`insert into ${b.table('things')} (id, label) values (${id}, ${`b${id}`})`.execute(b.db);
          await b.transaction(async (trx) => {
            await trx.updateTable('things').set({ label: sql`label || '!'` }).where('id', '=', id).execute();
          });
        }
        assert.deepEqual(switches, []);
        assert.deepEqual(await a.db.selectFrom('things').select('label').orderBy('id').execute(), [{ label: 'a1' }, { label: 'a2' }, { label: 'a3' }]);

        // An unqualified raw statement gets its own schema, even right after the other service's.
        const fromA = await sql<{ label: string }>`select label from things order by id`.execute(a.db);
        assert.deepEqual(fromA.rows.map((row) => row.label), ['a1', 'a2', 'a3']);
        const fromB = await sql<{ label: string }>`select label from things order by id`.execute(b.db);
        assert.deepEqual(fromB.rows.map((row) => row.label), ['b1!', 'b2!', 'b3!']);
        assert.deepEqual(switches, ['set search_path to "sf_a"', 'set search_path to "sf_b"']);

        // Only a statement that names its schema may be kept prepared: an unqualified text means
        // each service's own table.
        const unqualified = 'select label from things where id = $1';
        for (const [service, label] of [[a, 'a2'], [b, 'b2!']] as const) {
          const { rows } = await sql<{ label: string }>`select label from things where id = ${2}`.execute(service.db);
          assert.deepEqual(rows, [{ label }]);
        }
        assert.equal(kept.get(unqualified), false);
        assert.equal(kept.get('insert into "sf_b"."things" (id, label) values ($1, $2)'), true);
        assert.ok([...kept].filter(([text]) => text !== unqualified).every(([, prepared]) => prepared), JSON.stringify([...kept]));

        // A switch inside a rolled-back transaction is undone (back to sf_b); the next unqualified
        // statement of sf_a must switch again, not trust a path that is gone.
        await assert.rejects(
          a.transaction(async (trx) => {
            await sql`update things set label = 'undone'`.execute(trx);
            throw new Error('roll back');
          }),
          /roll back/,
        );
        const aAfter = await sql<{ label: string }>`select label from things order by id`.execute(a.db);
        assert.deepEqual(aAfter.rows.map((row) => row.label), ['a1', 'a2', 'a3']);
      } finally {
        proto.query = originals.query;
        proto.exec = originals.exec;
        await engine.close();
      }
    });
  }
});
