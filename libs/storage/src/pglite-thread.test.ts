import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openPgliteThread, PgliteThread } from './pglite-thread.ts';
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
});
