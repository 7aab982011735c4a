import { Unavailable } from '@carshare/platform';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { migrateSchema, type MigrationResult } from './migrate-schema.ts';

/** One service's view of the database: every query made through it runs in its own schema. */
export interface ServiceDatabase<DB = any> {
  readonly schema: string;
  /**
   * Builder queries name `schema` (kysely's WithSchemaPlugin); unqualified names in raw `sql`
   * resolve to it too (search_path), at the cost of a search_path switch on PGlite.
   */
  readonly db: Kysely<DB>;
  /**
   * `name` qualified with the schema, for raw `sql`: `sql\`update ${database.table('saga')} set …\``.
   * A raw statement whose relations are all written so runs on PGlite without a search_path switch.
   */
  readonly table: (name: string) => RawBuilder<unknown>;
  /**
   * Applies the pending forward-only `NNNN-description.sql` files; a no-op when up to date.
   * `ledger` (default `schema_migrations`) records them: a library's tables keep their own.
   */
  migrate(migrationsDir: string, options?: { ledger?: string }): Promise<MigrationResult>;
  transaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T>;
  /** For /health/ready: throws Unavailable when the database does not answer in time. */
  ping(): Promise<void>;
}

export interface ServiceDatabaseOptions<DB> {
  schema: string;
  db: Kysely<DB>;
  pingTimeoutMs: number;
}

export function createServiceDatabase<DB>(options: ServiceDatabaseOptions<DB>): ServiceDatabase<DB> {
  const { schema, db, pingTimeoutMs } = options;
  // Within one process migrate() calls take turns: on PGlite every service shares one session,
  // where advisory locks are re-entrant and so exclude nothing.
  let migrations: Promise<unknown> = Promise.resolve();

  return {
    schema,
    db,
    table: (name) => sql.table(`${schema}.${name}`),
    migrate(migrationsDir, options) {
      const run = migrations.then(() => migrateSchema(db, schema, migrationsDir, options?.ledger));
      migrations = run.catch(() => undefined);
      return run;
    },
    transaction(work) {
      return db.transaction().execute(work);
    },
    async ping() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${pingTimeoutMs} ms`)), pingTimeoutMs);
      });
      try {
        await Promise.race([sql`select 1`.execute(db), timeout]);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw Unavailable('DATABASE_UNAVAILABLE', `database of ${schema} is unavailable: ${message}`, { schema }, { cause: error });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
