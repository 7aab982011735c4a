import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Conflict } from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import { sql } from 'kysely';

/** The forward-only SQL files that create the saga log (saga, saga_step). */
export function sagaMigrationsDir(): string {
  // Through the package, not this file's folder: `npm start` runs a bundle in dist/.
  return join(dirname(createRequire(import.meta.url).resolve('@carshare/saga/package.json')), 'migrations');
}

const fileNamePattern = /^(\d{4})-[a-z0-9][a-z0-9-]*\.sql$/;

/**
 * Creates or upgrades the saga log in the service's own schema.
 *
 * Why not `database.migrate(sagaMigrationsDir())`: storage keeps one ledger per schema and refuses
 * versions whose file is missing from the folder being migrated, so the service's own folder and
 * this one cannot share it. Same rules as messaging's tables: a ledger of its own
 * (`saga_migrations`), files in order, each in a transaction, edits to applied files refused, and
 * a per-schema advisory lock so instances starting together take turns.
 */
export async function migrateSagaTables(database: ServiceDatabase): Promise<{ applied: string[] }> {
  const dir = sagaMigrationsDir();
  const files = (await readdir(dir)).filter((name) => fileNamePattern.test(name)).sort();
  const lockKey = `carshare.saga.migrate.${database.schema}`;
  return await database.db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(hashtextextended(${lockKey}, 0))`.execute(connection);
    try {
      await sql`create schema if not exists ${sql.id(database.schema)}`.execute(connection);
      await sql`
        create table if not exists saga_migrations (
          name text primary key,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`.execute(connection);
      const { rows } = await sql<{ name: string; checksum: string }>`select name, checksum from saga_migrations`.execute(connection);
      const appliedChecksums = new Map(rows.map((row) => [row.name, row.checksum]));
      const applied: string[] = [];
      for (const name of files) {
        const text = await readFile(join(dir, name), 'utf8');
        const checksum = createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
        const existing = appliedChecksums.get(name);
        if (existing !== undefined) {
          if (existing !== checksum) {
            throw Conflict('MIGRATION_CHECKSUM_MISMATCH', `saga migration ${name} was edited after it was applied to ${database.schema}`, {
              fileName: name,
              schema: database.schema,
            });
          }
          continue;
        }
        await connection.transaction().execute(async (trx) => {
          await sql.raw(text).execute(trx);
          await sql`insert into saga_migrations (name, checksum) values (${name}, ${checksum})`.execute(trx);
        });
        applied.push(name);
      }
      return { applied };
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${lockKey}, 0))`.execute(connection).catch(() => undefined);
    }
  });
}
