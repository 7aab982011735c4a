import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { runSqlEngineContract, type SqlEngineFixture } from './sql-engine.contract.ts';
import { openSqlEngine } from './sql-engine.ts';

// Lower-case, short, unique per run: parallel runs on one server never share a schema.
function runPrefix(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

// PGlite on its worker thread (the default) and on the event loop (ADR 0031): one behaviour.
for (const pgliteThread of ['worker', 'event-loop'] as const) {
  runSqlEngineContract(`pglite (${pgliteThread})`, async () => {
    const root = await mkdtemp(join(tmpdir(), 'carshare-pglite-'));
    const prefix = runPrefix();
    return {
      kind: 'pglite',
      allowsConcurrentEngines: false,
      open: () => openSqlEngine({ dataDir: join(root, 'sql'), pgliteThread }),
      schema: (name) => `${prefix}_${name}`,
      cleanup: () => rm(root, { recursive: true, force: true }),
    } satisfies SqlEngineFixture;
  });
}

const databaseUrl = process.env.DATABASE_URL;
if (databaseUrl) {
  runSqlEngineContract('postgres', async () => {
    const prefix = runPrefix();
    return {
      kind: 'postgres',
      allowsConcurrentEngines: true,
      open: () => openSqlEngine({ databaseUrl, dataDir: 'unused' }),
      schema: (name) => `${prefix}_${name}`,
      async cleanup() {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          const { rows } = await client.query<{ name: string }>('select nspname as name from pg_namespace where nspname like $1', [`${prefix}\\_%`]);
          for (const { name } of rows) await client.query(`drop schema "${name}" cascade`);
        } finally {
          await client.end();
        }
      },
    } satisfies SqlEngineFixture;
  });
} else {
  describe('SqlEngine contract: postgres', () => {
    it('runs only when DATABASE_URL is set', { skip: 'DATABASE_URL is not set; e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test -- libs/storage' }, () => {});
  });
}
