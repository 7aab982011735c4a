import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Conflict } from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import { sql } from 'kysely';

/** The forward-only SQL files that create this library's tables (outbox, inbox, dead_letter). */
export function messagingMigrationsDir(): string {
  // Through the package, not this file's folder: `npm start` runs a bundle in dist/.
  return join(dirname(createRequire(import.meta.url).resolve('@carshare/messaging/package.json')), 'migrations');
}

const fileNamePattern = /^(\d{4})-[a-z0-9][a-z0-9-]*\.sql$/;

/**
 * Creates or upgrades the outbox, inbox and dead_letter tables in the service's own schema.
 *
 * Why not `database.migrate(messagingMigrationsDir())`: storage keeps one version ledger per
 * schema (`schema_migrations`) and rejects versions whose file is missing from the folder being
 * migrated, so two folders cannot share a schema. These files keep their own ledger,
 * `messaging_migrations`, with the same rules: applied in order, each in a transaction, edits to
 * applied files refused, and a per-schema advisory lock so instances starting together take turns.
 */
export async function migrateMessagingTables(database: ServiceDatabase): Promise<{ applied: string[] }> {
  const dir = messagingMigrationsDir();
  const files = (await readdir(dir)).filter((name) => fileNamePattern.test(name)).sort();
  const lockKey = `carshare.messaging.migrate.${database.schema}`;
  return await database.db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(hashtextextended(${lockKey}, 0))`.execute(connection);
    try {
      await sql`create schema if not exists ${sql.id(database.schema)}`.execute(connection);
      await sql`
        create table if not exists messaging_migrations (
          name text primary key,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`.execute(connection);
      const { rows } = await sql<{ name: string; checksum: string }>`select name, checksum from messaging_migrations`.execute(connection);
      const appliedChecksums = new Map(rows.map((row) => [row.name, row.checksum]));
      const applied: string[] = [];
      for (const name of files) {
        const text = await readFile(join(dir, name), 'utf8');
        const checksum = createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
        const existing = appliedChecksums.get(name);
        if (existing !== undefined) {
          if (existing !== checksum) {
            throw Conflict('MIGRATION_CHECKSUM_MISMATCH', `messaging migration ${name} was edited after it was applied to ${database.schema}`, {
              fileName: name,
              schema: database.schema,
            });
          }
          continue;
        }
        await connection.transaction().execute(async (trx) => {
          await sql.raw(text).execute(trx);
          await sql`insert into messaging_migrations (name, checksum) values (${name}, ${checksum})`.execute(trx);
        });
        applied.push(name);
      }
      return { applied };
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${lockKey}, 0))`.execute(connection).catch(() => undefined);
    }
  });
}
