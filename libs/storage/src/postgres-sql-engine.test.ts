import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { sql } from 'kysely';
import { openSqlEngine } from './sql-engine.ts';

function isReason(reason: string) {
  return (error: unknown) => isAppError(error) && error.reason === reason;
}

describe('Postgres engine', () => {
  it('rejects a DATABASE_URL that is not a postgres URL', async () => {
    await assert.rejects(openSqlEngine({ databaseUrl: 'not a url', dataDir: 'unused' }), isReason('INVALID_DATABASE_URL'));
    await assert.rejects(openSqlEngine({ databaseUrl: 'mysql://db/x', dataDir: 'unused' }), isReason('INVALID_DATABASE_URL'));
  });

  it('pings Unavailable when the server cannot be reached', async () => {
    const engine = await openSqlEngine({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', dataDir: 'unused', connectTimeoutMs: 500 });
    try {
      await assert.rejects(
        engine.forService('nowhere').ping(),
        (error: unknown) => isAppError(error) && error.code === 'UNAVAILABLE' && error.reason === 'DATABASE_UNAVAILABLE',
      );
    } finally {
      await engine.close();
    }
  });

  const databaseUrl = process.env.DATABASE_URL;
  it(
    'keeps the service schema when the URL carries its own startup options',
    { skip: databaseUrl ? false : 'DATABASE_URL is not set' },
    async () => {
      const url = new URL(databaseUrl ?? '');
      url.searchParams.set('options', '-c statement_timeout=4321');
      const schema = `t${randomBytes(4).toString('hex')}_opts`;
      const engine = await openSqlEngine({ databaseUrl: url.href, dataDir: 'unused' });
      try {
        const service = engine.forService(schema);
        await sql`create schema ${sql.id(schema)}`.execute(service.db);
        const { rows } = await sql<{ schema: string; timeout: string }>`select current_schema() as schema, current_setting('statement_timeout') as timeout`.execute(service.db);
        assert.deepEqual(rows, [{ schema, timeout: '4321ms' }]);
      } finally {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(engine.forService(schema).db);
        await engine.close();
      }
    },
  );
});
