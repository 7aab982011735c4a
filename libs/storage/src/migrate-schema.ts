import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Conflict } from '@carshare/platform';
import { sql, type Kysely } from 'kysely';

export interface MigrationResult {
  /** File names applied by this call, in order; empty when the schema was up to date. */
  applied: string[];
}

interface MigrationFile {
  version: string;
  fileName: string;
  sql: string;
  checksum: string;
}

interface AppliedMigration {
  version: string;
  name: string;
  checksum: string;
}

const migrationFilePattern = /^(\d{4})-[a-z0-9][a-z0-9-]*\.sql$/;

// Line endings are normalised so a checkout with autocrlf does not count as an edit.
function checksumOf(text: string): string {
  return createHash('sha256').update(text.replaceAll('\r\n', '\n')).digest('hex');
}

async function readMigrationFiles(migrationsDir: string): Promise<MigrationFile[]> {
  let names: string[];
  try {
    names = await readdir(migrationsDir);
  } catch (error) {
    throw Conflict('MIGRATIONS_DIR_MISSING', `cannot read the migrations folder ${migrationsDir}`, { migrationsDir }, { cause: error });
  }
  const files: MigrationFile[] = [];
  const seen = new Map<string, string>();
  for (const fileName of names.filter((name) => name.endsWith('.sql')).sort()) {
    const version = migrationFilePattern.exec(fileName)?.[1];
    if (version === undefined) {
      // A misnamed file would otherwise be skipped silently and its change never made.
      throw Conflict('MIGRATION_NAME_INVALID', `migration ${fileName} in ${migrationsDir} is not named NNNN-description.sql`, { fileName });
    }
    const clash = seen.get(version);
    if (clash !== undefined) {
      throw Conflict('MIGRATION_VERSION_DUPLICATE', `migrations ${clash} and ${fileName} share the number ${version}`, { fileName });
    }
    seen.set(version, fileName);
    const text = await readFile(join(migrationsDir, fileName), 'utf8');
    files.push({ version, fileName, sql: text, checksum: checksumOf(text) });
  }
  return files;
}

function pendingAfterChecks(files: MigrationFile[], applied: AppliedMigration[], schema: string): MigrationFile[] {
  const byVersion = new Map(files.map((file) => [file.version, file]));
  let newestApplied = '';
  for (const row of applied) {
    const file = byVersion.get(row.version);
    if (file === undefined) {
      throw Conflict('MIGRATION_FILE_MISSING', `migration ${row.name} is applied in schema ${schema} but its file is gone`, { fileName: row.name, schema });
    }
    if (file.checksum !== row.checksum || file.fileName !== row.name) {
      throw Conflict(
        'MIGRATION_CHECKSUM_MISMATCH',
        `migration ${file.fileName} was edited after it was applied to schema ${schema}; migrations are forward-only: revert the edit and add a new file`,
        { fileName: file.fileName, schema },
      );
    }
    if (row.version > newestApplied) newestApplied = row.version;
  }
  const appliedVersions = new Set(applied.map((row) => row.version));
  const pending = files.filter((file) => !appliedVersions.has(file.version));
  const late = pending.find((file) => file.version < newestApplied);
  if (late !== undefined) {
    throw Conflict(
      'MIGRATION_OUT_OF_ORDER',
      `migration ${late.fileName} is older than migrations already applied to schema ${schema}; renumber it after ${newestApplied}`,
      { fileName: late.fileName, schema },
    );
  }
  return pending;
}

/** The version ledger of a service's own migrations; libraries that add tables keep their own. */
export const defaultMigrationLedger = 'schema_migrations';

const ledgerPattern = /^[a-z][a-z0-9_]*_migrations$/;

/**
 * Ledgers written before this runner served libraries too (`messaging_migrations`) have no
 * `version` column: the version is the file name's number, so it is filled in from the name.
 */
async function addVersionColumnIfMissing(connection: Kysely<any>, ledger: string): Promise<void> {
  const { rows } = await sql<{ present: boolean }>`
    select exists (
      select 1 from information_schema.columns
      where table_schema = current_schema() and table_name = ${ledger} and column_name = 'version'
    ) as present`.execute(connection);
  if (rows[0]?.present) return;
  await connection.transaction().execute(async (trx) => {
    await sql`alter table ${sql.table(ledger)} add column version text`.execute(trx);
    await sql`update ${sql.table(ledger)} set version = substr(name, 1, 4)`.execute(trx);
    await sql`alter table ${sql.table(ledger)} alter column version set not null`.execute(trx);
  });
}

/** Whether the ledger exists in its current shape (with `version`), so reading it needs no DDL first. */
async function ledgerReady(db: Kysely<any>, schema: string, ledger: string): Promise<boolean> {
  const { rows } = await sql<{ ready: boolean }>`
    select exists (
      select 1
      from pg_catalog.pg_attribute as a
      join pg_catalog.pg_class as c on c.oid = a.attrelid
      join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
      where n.nspname = ${schema} and c.relname = ${ledger} and a.attname = 'version' and not a.attisdropped
    ) as ready`.execute(db);
  return rows[0]?.ready === true;
}

/**
 * Applies the pending `NNNN-description.sql` files of `migrationsDir` to the service schema that
 * `db` is bound to (through search_path), each in its own transaction, recorded with a checksum
 * in `ledger`. One ledger per folder: a service's own files use `schema_migrations`, a library
 * that adds tables to every service's schema (outbox, saga log) names its own, since a ledger
 * refuses versions whose file is missing from the folder being migrated. A session advisory
 * lock per schema makes processes that start together take turns; the second finds nothing
 * left to do.
 */
export async function migrateSchema(db: Kysely<any>, schema: string, migrationsDir: string, ledger = defaultMigrationLedger): Promise<MigrationResult> {
  if (!ledgerPattern.test(ledger)) throw new TypeError(`migration ledger "${ledger}" must be a lower-case name ending in _migrations`);
  const files = await readMigrationFiles(migrationsDir);
  // A warm start finds nothing to do: two reads then, instead of the lock, the DDL and the unlock
  // that a pending file needs (six statements per ledger, some twenty ledgers in `carshare up`).
  // Seeing every file applied cannot be wrong: a migrator running beside us commits each file
  // with its ledger row, so a file it has not finished reads as pending and we take the lock.
  if (await ledgerReady(db, schema, ledger)) {
    const applied = await db.selectFrom(ledger).select(['version', 'name', 'checksum']).execute();
    if (pendingAfterChecks(files, applied, schema).length === 0) return { applied: [] };
  }
  const lockKey = `carshare.migrate.${schema}`;
  return await db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(hashtextextended(${lockKey}, 0))`.execute(connection);
    try {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(connection);
      await sql`
        create table if not exists ${sql.table(ledger)} (
          version text primary key,
          name text not null,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`.execute(connection);
      await addVersionColumnIfMissing(connection, ledger);
      const applied = await connection
        .selectFrom(ledger)
        .select(['version', 'name', 'checksum'])
        .orderBy('version')
        .execute();
      const done: string[] = [];
      for (const file of pendingAfterChecks(files, applied, schema)) {
        await connection.transaction().execute(async (trx) => {
          try {
            await sql.raw(file.sql).execute(trx);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            throw Conflict('MIGRATION_FAILED', `migration ${file.fileName} failed on schema ${schema}: ${message}`, { fileName: file.fileName, schema }, { cause: error });
          }
          await trx
            .insertInto(ledger)
            .values({ version: file.version, name: file.fileName, checksum: file.checksum })
            .execute();
        });
        done.push(file.fileName);
      }
      return { applied: done };
    } finally {
      // When the session itself broke, Postgres has dropped the lock already; the original
      // error is the one worth reporting.
      await sql`select pg_advisory_unlock(hashtextextended(${lockKey}, 0))`.execute(connection).catch(() => undefined);
    }
  });
}
