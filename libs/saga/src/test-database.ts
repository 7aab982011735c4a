import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlEngine, type ServiceDatabase, type SqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { migrateSagaTables } from './saga-tables.ts';

export interface TestDatabase {
  engine: SqlEngine;
  database: ServiceDatabase;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

/**
 * A service schema with the saga log for a test: PGlite in memory (or in `dataDir`), or a fresh
 * schema on PostgreSQL when `databaseUrl` is given, dropped again on close.
 */
export async function openTestDatabase(options: { databaseUrl?: string; dataDir?: string; schema?: string } = {}): Promise<TestDatabase> {
  const schema = options.schema ?? `saga_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const engine = await openSqlEngine({ databaseUrl: options.databaseUrl, dataDir: options.dataDir ?? 'memory://' });
  const database = engine.forService(schema);
  await migrateSagaTables(database);
  return {
    engine,
    database,
    kind: engine.kind,
    async close() {
      try {
        if (engine.kind === 'postgres') await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
      } finally {
        await engine.close();
      }
    },
  };
}

export async function temporaryDirectory(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
