import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openPgliteThread, PgliteThread, type PgliteSession } from './pglite-thread.ts';
import { readPgliteTemplate } from './pglite-template.ts';
import { openSqlEngine } from './sql-engine.ts';

/** How many times a 5 ms interval fired while `work` ran: a blocked event loop fires it once at most. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const interval = setInterval(() => ticks++, 5);
  try {
    await work();
  } finally {
    clearInterval(interval);
  }
  return ticks;
}

describe('PGlite on a worker thread (ADR 0031)', () => {
  it('keeps the event loop turning while a statement runs, where PGlite on the loop holds it', async () => {
    // A CPU-bound statement (~0.3–1 s here): pg_sleep would wait inside the WebAssembly too, but
    // a real statement is work, and work is what must leave the loop.
    const busyStatement = sql`select count(*) as n from generate_series(1, 2000000) as g where g % 7 = 3`;
    const ticks: Record<string, number> = {};
    for (const pgliteThread of ['worker', 'event-loop'] as const) {
      const engine = await openSqlEngine({ dataDir: 'memory://', pgliteThread });
      try {
        const db = engine.forService('loop_probe').db;
        let count = 0;
        ticks[pgliteThread] = await ticksDuring(async () => {
          const { rows } = await busyStatement.execute(db);
          count = Number((rows[0] as { n: unknown }).n);
        });
        assert.equal(count, 285714);
      } finally {
        await engine.close();
      }
    }
    assert.ok((ticks['worker'] ?? 0) >= 10, `the loop turned ${ticks['worker']} times during the statement on the worker`);
    assert.ok((ticks['event-loop'] ?? 0) <= 2, `the reference: PGlite on the loop held it (${ticks['event-loop']} turns)`);
  });

  it("rebuilds a statement's error with its SQLSTATE fields, and fails what is pending when the thread dies", async () => {
    const template = await readPgliteTemplate();
    const { session } = await openPgliteThread({ location: 'memory://', startParams: [], ...(template && { template }), keepTemplate: false });
    try {
      await session.exec('create table plates (plate text primary key)');
      await session.query('insert into plates values ($1)', ['B-CS 1']);
      await assert.rejects(session.query('insert into plates values ($1)', ['B-CS 1']), (error: Error & { code?: string; constraint?: string }) => {
        assert.equal(error.code, '23505');
        assert.equal(error.constraint, 'plates_pkey');
        return true;
      });
      // A statement that never ends, then the thread is gone: the caller hears of it, it does not hang.
      const stuck = session.query('select pg_sleep(60)');
      assert.ok(session instanceof PgliteThread);
      await session.terminate();
      await assert.rejects(stuck, /the PGlite thread exited/);
      assert.equal(session.closed, true);
      await assert.rejects(session.query('select 1'), /closed/);
    } finally {
      await session.close();
    }
  });

  describe('kept (named prepared) statements', () => {
    /** Runs `test` on a fresh thread with a `fleet.cars` table, and closes the thread after. */
    async function withThread(test: (session: PgliteSession) => Promise<void>): Promise<void> {
      const template = await readPgliteTemplate();
      const { session } = await openPgliteThread({ location: 'memory://', startParams: [], ...(template && { template }), keepTemplate: false });
      try {
        await session.exec(`
          create schema fleet;
          create table fleet.cars (id uuid primary key, seats int not null, plate text not null, seen timestamptz, spec jsonb, photo bytea, price numeric, electric boolean);`);
        await test(session);
      } finally {
        await session.close();
      }
    }
    const prepare = { rowMode: 'object', prepare: true } as const;
    const kept = async (session: PgliteSession, text: string) =>
      Number((await session.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements where statement = $1', [text])).rows[0]?.n);

    it('answers as query() does, with every type, and parses and plans a text once', async () => {
      await withThread(async (session) => {
        const insert = 'insert into fleet.cars values ($1, $2, $3, $4, $5, $6, $7, $8) returning *';
        const row = ['5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0001', 5, 'B-CS 1', new Date('2026-12-06T07:00:00.000Z'), { range: 410, plugs: ['ccs'] }, new Uint8Array([1, 2, 3]), '12.50', true];
        const viaKept = await session.query(insert, row, prepare);
        const select = 'select * from fleet.cars where id = $1';
        const plain = await session.query(select, [row[0]]);
        for (let call = 0; call < 3; call++) assert.deepEqual(await session.query(select, [row[0]], prepare), plain);
        assert.deepEqual(viaKept.rows, plain.rows);
        assert.equal(viaKept.command, 'INSERT');
        assert.equal(viaKept.affectedRows, 1);
        const nulls = await session.query(insert, ['5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0002', 2, 'B-CS 2', null, null, null, null, null], prepare);
        assert.deepEqual(nulls.rows[0], { id: '5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0002', seats: 2, plate: 'B-CS 2', seen: null, spec: null, photo: null, price: null, electric: null });
        const update = await session.query('update fleet.cars set seats = seats + $1 where plate like $2', [1, 'B-CS %'], prepare);
        assert.equal(update.affectedRows, 2);
        assert.equal(await kept(session, select), 1, 'four runs, one prepared statement');
        assert.equal(await kept(session, 'select 1'), 0);
      });
    });

    it('keeps an error\'s SQLSTATE fields, and the session (and a transaction\'s rollback) works after it', async () => {
      await withThread(async (session) => {
        const insert = 'insert into fleet.cars (id, seats, plate) values ($1, $2, $3)';
        await session.query(insert, ['5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0001', 5, 'B-CS 1'], prepare);
        const duplicate = (error: Error & { code?: string; constraint?: string; query?: string }) => {
          assert.equal(error.code, '23505');
          assert.equal(error.constraint, 'cars_pkey');
          assert.equal(error.query, insert);
          return true;
        };
        await assert.rejects(session.query(insert, ['5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0001', 5, 'B-CS 1'], prepare), duplicate);
        await session.exec('begin');
        await assert.rejects(session.query(insert, ['5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0001', 4, 'B-CS 9'], prepare), duplicate);
        await assert.rejects(session.query('select * from fleet.cars where seats = $1', [4], prepare), /current transaction is aborted/);
        await session.exec('rollback');
        await assert.rejects(session.query('select * from fleet.cars where plate = $1 and nope', ['x'], prepare), /column "nope" does not exist/);
        const { rows } = await session.query('select plate from fleet.cars where seats = $1', [5], prepare);
        assert.deepEqual(rows, [{ plate: 'B-CS 1' }]);
      });
    });

    it('prepares a statement again when its table changed shape, outside a transaction', async () => {
      await withThread(async (session) => {
        const select = 'select * from fleet.cars where seats = $1';
        await session.query('insert into fleet.cars (id, seats, plate) values ($1, $2, $3)', ['5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0001', 5, 'B-CS 1'], prepare);
        assert.equal((await session.query(select, [5], prepare)).rows.length, 1);
        await session.exec('alter table fleet.cars add column colour text');
        const { rows } = await session.query<{ colour: string | null }>(select, [5], prepare);
        assert.equal(rows[0]?.colour, null);
        assert.ok(rows[0] && 'colour' in rows[0]);
      });
    });

    describe('a batch of kept statements, sent to PostgreSQL in one call', () => {
      const id = (n: number) => `5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a000${n}`;
      const insert = 'insert into fleet.cars (id, seats, plate) values ($1, $2, $3) returning *';
      const statement = (sql: string, params: unknown[], guarded = false) => ({ sql, params, prepare: true, guarded });
      const plates = async (session: PgliteSession) => (await session.query<{ plate: string }>('select plate from fleet.cars order by plate')).rows.map((row) => row.plate);

      it('answers each statement as query() does, and keeps each text once', async () => {
        await withThread(async (session) => {
          const select = 'select * from fleet.cars where seats = $1 order by plate';
          const update = 'update fleet.cars set seats = seats + $1 where plate like $2';
          const answer = await session.batch!([statement(insert, [id(1), 5, 'B-CS 1']), statement(insert, [id(2), 5, 'B-CS 2']), statement(update, [1, 'B-CS %'], true), statement(select, [6])]);
          assert.ok('results' in answer);
          assert.deepEqual(answer.results.map((result) => [result.command, result.affectedRows]), [['INSERT', 1], ['INSERT', 1], ['UPDATE', 2], ['SELECT', 0]]);
          assert.deepEqual(answer.results[0]?.rows, [{ id: id(1), seats: 5, plate: 'B-CS 1', seen: null, spec: null, photo: null, price: null, electric: null }]);
          assert.deepEqual(answer.results[3]?.rows, (await session.query(select, [6])).rows);
          assert.equal(await kept(session, insert), 1, 'two runs of one text, one prepared statement');
          assert.equal(await kept(session, select), 1);
        });
      });

      it('answers the first guard that changed nothing even when a later statement fails, and undoes it all', async () => {
        await withThread(async (session) => {
          await session.query(insert, [id(1), 5, 'B-CS 1'], prepare);
          const answer = await session.batch!([
            statement(insert, [id(2), 4, 'B-CS 2']),
            statement('update fleet.cars set seats = $1 where plate = $2', [3, 'B-CS 9'], true),
            // Would fail (the same id again): a guard before it decides.
            statement(insert, [id(1), 5, 'B-CS 1']),
          ]);
          assert.deepEqual(answer, { unchanged: 1 });
          assert.deepEqual(await plates(session), ['B-CS 1']);
          assert.equal(await session.query('select 1').then(() => 'usable'), 'usable');
        });
      });

      it("throws a failing statement's error with its SQL, undoes the statements before it, and the session works after", async () => {
        await withThread(async (session) => {
          await session.query(insert, [id(1), 5, 'B-CS 1'], prepare);
          await assert.rejects(session.batch!([statement(insert, [id(2), 4, 'B-CS 2']), statement(insert, [id(1), 5, 'B-CS 1']), statement(insert, [id(3), 4, 'B-CS 3'])]), (error: Error & { code?: string; query?: string }) => {
            assert.equal(error.code, '23505');
            assert.equal(error.query, insert);
            return true;
          });
          // A parameter PostgreSQL cannot read fails at Bind, before the statement runs.
          await assert.rejects(session.batch!([statement(insert, [id(4), 4, 'B-CS 4']), statement(insert, ['not a uuid', 4, 'B-CS 5'])]), /invalid input syntax for type uuid/);
          assert.deepEqual(await plates(session), ['B-CS 1']);
        });
      });

      it('keeps every text of a batch that arrives with the cache almost full', async () => {
        await withThread(async (session) => {
          for (let index = 0; index < 499; index++) await session.query(`select $1::int + ${index} as n`, [1], prepare);
          const answer = await session.batch!([statement(insert, [id(1), 5, 'B-CS 1']), statement('select plate from fleet.cars where seats = $1', [5])]);
          assert.ok('results' in answer);
          assert.deepEqual(answer.results[1]?.rows, [{ plate: 'B-CS 1' }]);
        });
      });

      it('runs a batch with a statement that cannot be kept one statement at a time, with the same guards', async () => {
        await withThread(async (session) => {
          const unkept = (sql: string, params: unknown[], guarded = false) => ({ sql, params, prepare: false, guarded });
          const answer = await session.batch!([statement(insert, [id(1), 5, 'B-CS 1']), unkept('update fleet.cars set seats = $1 where plate = $2', [4, 'B-CS 1'], true)]);
          assert.ok('results' in answer);
          assert.equal(answer.results[1]?.affectedRows, 1);
          assert.deepEqual(await session.batch!([statement(insert, [id(2), 4, 'B-CS 2']), unkept('update fleet.cars set seats = $1 where plate = $2', [3, 'B-CS 9'], true)]), { unchanged: 1 });
          assert.deepEqual(await plates(session), ['B-CS 1']);
        });
      });

      it('prepares a statement again when its table changed shape', async () => {
        await withThread(async (session) => {
          const select = 'select * from fleet.cars where seats = $1';
          await session.query(insert, [id(1), 5, 'B-CS 1'], prepare);
          assert.equal((await session.query(select, [5], prepare)).rows.length, 1);
          await session.exec('alter table fleet.cars add column colour text');
          const answer = await session.batch!([statement(insert, [id(2), 5, 'B-CS 2']), statement(select, [5])]);
          assert.ok('results' in answer);
          assert.deepEqual(answer.results[1]?.rows.map((row) => (row as { colour: unknown }).colour), [null, null]);
          assert.deepEqual(await plates(session), ['B-CS 1', 'B-CS 2']);
        });
      });
    });

    it('keeps at most 500 texts: the 501st starts over, and inside a transaction goes the long way', async () => {
      await withThread(async (session) => {
        for (let index = 0; index < 500; index++) await session.query(`select $1::int + ${index} as n`, [1], prepare);
        const count = async () => Number((await session.query<{ n: number }>('select count(*)::int as n from pg_prepared_statements')).rows[0]?.n);
        assert.equal(await count(), 500);
        await session.exec('begin');
        assert.deepEqual((await session.query('select $1::int + 500 as n', [1], prepare)).rows, [{ n: 501 }]);
        assert.equal(await count(), 500, 'nothing kept or dropped inside the transaction');
        await session.exec('commit');
        assert.deepEqual((await session.query('select $1::int + 501 as n', [1], prepare)).rows, [{ n: 502 }]);
        assert.equal(await count(), 1);
      });
    });
  });
});
