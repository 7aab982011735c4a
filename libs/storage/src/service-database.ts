import { Unavailable } from '@carshare/platform';
import { sql, type CompiledQuery, type Kysely, type QueryResult, type RawBuilder, type Transaction } from 'kysely';
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
  /**
   * Statements decided beforehand, run as one transaction; the first whose `orElse` is set and
   * that changes no row (or, a select, returns none) rolls it back, and its error is thrown.
   * Where `transaction` holds a connection from BEGIN to COMMIT while the caller works between
   * statements, this sends them together: on the shared PGlite session it is one message and
   * the session is held only to send it (ADR 0034). Answers each statement's result.
   */
  batch(statements: readonly BatchStatement[]): Promise<Array<QueryResult<unknown>>>;
  /** For /health/ready: throws Unavailable when the database does not answer in time. */
  ping(): Promise<void>;
}

export interface BatchStatement {
  /** A builder query (compiled with the service's plugins) or raw SQL compiled against `db`. */
  readonly query: CompiledQuery | { compile(): CompiledQuery };
  /** Makes the statement a guard: when it changes no row, the batch rolls back and throws this. */
  readonly orElse?: () => Error;
}

/** An engine's way to run a batch at once; undefined when it cannot (the batch then runs as a transaction). */
export type BatchRunner = (statements: ReadonlyArray<{ compiled: CompiledQuery; guarded: boolean }>) => Promise<BatchAnswer> | undefined;

/** `unchanged`: the index of the guard that changed no row, after the rollback. */
export type BatchAnswer = { readonly results: Array<QueryResult<unknown>> } | { readonly unchanged: number };

export interface ServiceDatabaseOptions<DB> {
  schema: string;
  db: Kysely<DB>;
  pingTimeoutMs: number;
  batch?: BatchRunner | undefined;
}

const isCompiled = (query: BatchStatement['query']): query is CompiledQuery => !('compile' in query);

function changedRows(result: QueryResult<unknown>): number {
  return result.numAffectedRows !== undefined ? Number(result.numAffectedRows) : result.rows.length;
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
    async batch(statements) {
      const compiled = statements.map((statement) => ({ compiled: isCompiled(statement.query) ? statement.query : statement.query.compile(), guarded: statement.orElse !== undefined }));
      const sent = options.batch?.(compiled);
      if (sent === undefined) {
        return await db.transaction().execute(async (trx) => {
          const results: Array<QueryResult<unknown>> = [];
          for (const [index, statement] of compiled.entries()) {
            const result = await trx.executeQuery(statement.compiled);
            if (statement.guarded && changedRows(result) === 0) throw statements[index]!.orElse!();
            results.push(result);
          }
          return results;
        });
      }
      const answer = await sent;
      if ('unchanged' in answer) throw statements[answer.unchanged]!.orElse!();
      return answer.results;
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
