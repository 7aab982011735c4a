import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { sql } from 'kysely';
import { PgliteThread } from './pglite-thread.ts';
import { openSqlEngine, type SqlEngineProgress } from './sql-engine.ts';

function isReason(reason: string) {
  return (error: unknown) => isAppError(error) && error.reason === reason;
}

describe('PGlite engine', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'carshare-pglite-engine-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('creates a missing data dir, reports progress, and guards the dir against a second opener', async () => {
    const dataDir = join(root, 'nested', 'sql');
    const events: SqlEngineProgress[] = [];
    const engine = await openSqlEngine({ dataDir, onProgress: (event) => events.push(event) });
    try {
      assert.equal(engine.kind, 'pglite');
      assert.ok(existsSync(join(dataDir, 'PG_VERSION')));
      assert.deepEqual(events[0], { phase: 'opening', kind: 'pglite', location: dataDir, firstRun: true });
      assert.equal(events[1]?.phase, 'ready');
      const { rows } = await sql<{ sharedBuffers: string }>`select current_setting('shared_buffers') as "sharedBuffers"`.execute(engine.forService('probe').db);
      assert.deepEqual(rows, [{ sharedBuffers: '16MB' }], 'sized for a laptop, not initdb\'s server default');

      await assert.rejects(openSqlEngine({ dataDir }), isReason('DATA_DIR_IN_USE'));
    } finally {
      await engine.close();
    }

    const reopenEvents: SqlEngineProgress[] = [];
    const reopened = await openSqlEngine({ dataDir, onProgress: (event) => reopenEvents.push(event) });
    await reopened.close();
    assert.deepEqual(reopenEvents[0], { phase: 'opening', kind: 'pglite', location: dataDir, firstRun: false });
  });

  it('refuses a data dir locked by another live process and takes over a dead one', async () => {
    const dataDir = join(root, 'locked');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'carshare-sql.lock'), String(process.ppid));
    await assert.rejects(openSqlEngine({ dataDir }), isReason('DATA_DIR_IN_USE'));

    const finished = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
    assert.ok(finished.pid);
    await writeFile(join(dataDir, 'carshare-sql.lock'), String(finished.pid));
    const engine = await openSqlEngine({ dataDir });
    await engine.close();
    assert.equal(existsSync(join(dataDir, 'carshare-sql.lock')), false);
  });

  it('turns a query that waits on its own open transaction into Unavailable instead of a hang', async () => {
    const engine = await openSqlEngine({ dataDir: join(root, 'busy'), busyTimeoutMs: 200 });
    try {
      const service = engine.forService('busy');
      await sql`create schema busy`.execute(service.db);
      await sql`create table counters (n int)`.execute(service.db);
      // Using `db` instead of `trx` inside a transaction: the session is taken by the transaction.
      await assert.rejects(
        service.transaction(async (trx) => {
          await trx.insertInto('counters').values({ n: 1 }).execute();
          await service.db.selectFrom('counters').selectAll().execute();
        }),
        isReason('DATABASE_BUSY'),
      );
      assert.deepEqual(await service.db.selectFrom('counters').selectAll().execute(), []);
      await service.ping();
    } finally {
      await engine.close();
    }
  });

  // On the thread each statement is a message each way; in the process BEGIN is a call of its own,
  // which costs no message. Both must keep what a transaction means.
  for (const pgliteThread of ['worker', 'event-loop'] as const) {
    it(`sends a transaction's BEGIN with its first statement, and a rollback still undoes that statement (${pgliteThread})`, async () => {
      const engine = await openSqlEngine({ dataDir: 'memory://', pgliteThread });
      const sent: string[] = [];
      const spied = spyOnThreadMessages(sent);
      const messages = (expected: string[]) => assert.deepEqual(sent.splice(0), pgliteThread === 'worker' ? expected : []);
      try {
        const service = engine.forService('tx');
        await sql`create schema tx`.execute(service.db);
        await sql`create table things (id int primary key)`.execute(service.db);
        sent.length = 0;

        await service.transaction(async (trx) => {
          await trx.insertInto('things').values({ id: 1 }).execute();
          await trx.insertInto('things').values({ id: 2 }).execute();
        });
        messages(['begin + insert into "tx"."things" ("id") values ($1)', 'insert into "tx"."things" ("id") values ($1)', 'commit']);

        // Without BEGIN before it, the first insert would have committed on its own.
        await assert.rejects(
          service.transaction(async (trx) => {
            await trx.insertInto('things').values({ id: 3 }).execute();
            throw new Error('changed my mind');
          }),
          /changed my mind/,
        );
        messages(['begin + insert into "tx"."things" ("id") values ($1)', 'rollback']);

        // A failed first statement leaves an aborted transaction, which the rollback ends.
        await assert.rejects(service.transaction((trx) => trx.insertInto('things').values({ id: 1 }).execute()), /duplicate key/);
        messages(['begin + insert into "tx"."things" ("id") values ($1)', 'rollback']);

        // A transaction that asked nothing of the session sends nothing, and frees it.
        await service.transaction(async () => undefined);
        messages([]);
        assert.deepEqual(await service.db.selectFrom('things').select('id').orderBy('id').execute(), [{ id: 1 }, { id: 2 }]);

        // A COMMIT that fails ends the transaction itself: no ROLLBACK follows, which could end the
        // next caller's transaction on the session.
        await sql`create table pairs (id int, constraint one_each unique (id) deferrable initially deferred)`.execute(service.db);
        sent.length = 0;
        const next = { started: false };
        await assert.rejects(
          service.transaction(async (trx) => {
            await trx.insertInto('pairs').values({ id: 1 }).execute();
            await trx.insertInto('pairs').values({ id: 1 }).execute();
          }),
          /one_each/,
        );
        messages(['begin + insert into "tx"."pairs" ("id") values ($1)', 'insert into "tx"."pairs" ("id") values ($1)', 'commit']);
        await service.transaction(async (trx) => {
          next.started = true;
          await trx.insertInto('pairs').values({ id: 2 }).execute();
        });
        assert.ok(next.started);
        assert.deepEqual(await service.db.selectFrom('pairs').select('id').execute(), [{ id: 2 }]);
      } finally {
        spied.restore();
        await engine.close();
      }
    });
  }
});

describe('PGlite thread: statements sent without waiting for the one before', () => {
  it('keeps many callers in order: every statement of its own lands, a transaction sees none of them and its rollback takes only its own', async () => {
    const engine = await openSqlEngine({ dataDir: 'memory://' });
    const proto = PgliteThread.prototype as unknown as Record<'query', (...args: unknown[]) => Promise<unknown>>;
    const { query } = proto;
    let inFlight = 0;
    let mostInFlight = 0;
    proto.query = function (this: unknown, ...args: unknown[]) {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      return query.apply(this, args).finally(() => inFlight--);
    };
    try {
      const service = engine.forService('order');
      await sql`create schema "order"`.execute(service.db);
      await sql`create table things (id int primary key, origin text not null)`.execute(service.db);
      const single = (id: number) => service.db.insertInto('things').values({ id, origin: 'single' }).execute();
      const inTransaction: Array<number | undefined> = [];
      const work: Array<Promise<unknown>> = [];
      for (let id = 1; id <= 40; id++) {
        work.push(single(id));
        if (id % 10 === 0) {
          work.push(
            service.transaction(async (trx) => {
              await trx.insertInto('things').values({ id: 1000 + id, origin: 'transaction' }).execute();
              // What it sees of the singles sent before and after it: a fixed count, whatever answers first.
              const counted = await trx.selectFrom('things').select((eb) => eb.fn.countAll<string>().as('n')).where('origin', '=', 'single').executeTakeFirstOrThrow();
              inTransaction.push(Number(counted.n));
              if (id % 20 === 0) throw new Error('undone');
            }).catch((error: unknown) => {
              if (!(error instanceof Error && error.message === 'undone')) throw error;
            }),
          );
        }
      }
      await Promise.all(work);
      // Sent before the transaction: in it; sent after: not, though they were on their way.
      assert.deepEqual(inTransaction, [10, 20, 30, 40]);
      const rows = await service.db.selectFrom('things').select(['id', 'origin']).orderBy('id').execute();
      assert.deepEqual(
        rows.map((row) => row.id),
        [...Array.from({ length: 40 }, (_, index) => index + 1), 1010, 1030],
      );
      assert.ok(mostInFlight > 1, `statements of their own went one answer at a time (${mostInFlight} in flight at most)`);
    } finally {
      proto.query = query;
      await engine.close();
    }
  });
});

/** Records every message to the PGlite thread, a BEGIN noted with the statement it came with. */
function spyOnThreadMessages(sent: string[]): { restore(): void } {
  const proto = PgliteThread.prototype as unknown as Record<'query' | 'exec', (text: string, ...rest: unknown[]) => Promise<unknown>>;
  const { query, exec } = proto;
  const note = (text: string, options: unknown) => {
    const begin = (options as { begin?: string } | undefined)?.begin;
    sent.push(begin === undefined ? text : `${begin} + ${text}`);
  };
  proto.query = function (this: unknown, text: string, ...rest: unknown[]) {
    note(text, rest[1]);
    return query.call(this, text, ...rest);
  };
  proto.exec = function (this: unknown, text: string, ...rest: unknown[]) {
    note(text, rest[0]);
    return exec.call(this, text, ...rest);
  };
  return {
    restore() {
      Object.assign(proto, { query, exec });
    },
  };
}
