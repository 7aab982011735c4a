import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { ServiceDatabase } from './service-database.ts';
import { openSqlEngine, type SqlEngine } from './sql-engine.ts';

export interface TestDatabase {
  engine: SqlEngine;
  database: ServiceDatabase;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** PostgreSQL; unset → PGlite in `dataDir` (in memory by default). */
  databaseUrl?: string;
  dataDir?: string;
  /** A fixed schema; by default a fresh one named after `schemaPrefix`, the process and chance. */
  schema?: string;
}

/**
 * A service schema for a library's tests, with `prepare` (its migrations) applied: PGlite in
 * memory (or in `dataDir`), or a fresh schema on PostgreSQL, dropped again on close, so runs that
 * share a server never meet.
 */
export async function openTestDatabase(
  options: TestDatabaseOptions & { schemaPrefix: string; prepare(database: ServiceDatabase): Promise<unknown> },
): Promise<TestDatabase> {
  const schema = options.schema ?? `${options.schemaPrefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const engine = await openSqlEngine({ databaseUrl: options.databaseUrl, dataDir: options.dataDir ?? 'memory://' });
  const database = engine.forService(schema);
  await options.prepare(database);
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
