import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { sql } from 'kysely';
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
});
