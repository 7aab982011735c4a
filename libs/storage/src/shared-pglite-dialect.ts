import {
  AbortedTransactionError,
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type DialectAdapter,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type { ReleaseLock } from './async-mutex.ts';
import type { BatchRunner } from './service-database.ts';
import { isSchemaFree } from './schema-free-statement.ts';
import type { PgliteResults, PgliteSession } from './pglite-thread.ts';
import type { SharedPglite } from './shared-pglite.ts';

/**
 * Kysely dialect for one service over the process-wide PGlite session.
 *
 * Not kysely's built-in PGliteDialect: that one owns the instance (one per Kysely), cannot switch
 * search_path between services sharing it, and hangs forever when BEGIN fails (e.g. after close).
 * A statement whose relations are all schema-qualified (the service's Kysely qualifies builder
 * queries) runs as it is; any other first switches the session's search_path to the schema.
 * Compiler, adapter and introspector are kysely's Postgres ones.
 */
export class SharedPgliteDialect implements Dialect {
  readonly #shared: SharedPglite;
  readonly #schema: string;

  constructor(shared: SharedPglite, schema: string) {
    this.#shared = shared;
    this.#schema = schema;
  }

  createDriver(): Driver {
    return new SharedPgliteDriver(this.#shared, this.#schema);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  // Postgres' adapter says "multiple connections": each kysely connection is a handle, and the
  // session lock in SharedPglite is the only serialisation point (no second, per-service mutex).
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

class SharedPgliteDriver implements Driver {
  readonly #shared: SharedPglite;
  readonly #schema: string;

  constructor(shared: SharedPglite, schema: string) {
    this.#shared = shared;
    this.#schema = schema;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new SharedPgliteConnection(this.#shared, this.#schema);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await asShared(connection).begin(settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await asShared(connection).commit();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await asShared(connection).rollback();
  }

  async savepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(savepointName)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(savepointName)}`));
    } finally {
      // A search_path switched after the savepoint is undone with it.
      this.#shared.forgetSearchPath();
    }
  }

  async releaseSavepoint(connection: DatabaseConnection, savepointName: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(savepointName)}`));
  }

  async releaseConnection(): Promise<void> {}

  // The instance belongs to the engine, which closes it once every service is done.
  async destroy(): Promise<void> {}
}

function asShared(connection: DatabaseConnection): SharedPgliteConnection {
  if (!(connection instanceof SharedPgliteConnection)) throw new TypeError('not a shared PGlite connection');
  return connection;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function beginStatement(settings: TransactionSettings): string {
  let statement = 'begin';
  if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
  if (settings.accessMode) statement += `${settings.isolationLevel ? ',' : ''} ${settings.accessMode}`;
  return statement;
}

// The verdict depends only on the text that runs (a qualified name is in it), so it is kept per
// text; a batch insert's text varies with its row count, hence the bound.
const schemaFreeByText = new Map<string, boolean>();

function schemaFree(compiledQuery: CompiledQuery): boolean {
  let free = schemaFreeByText.get(compiledQuery.sql);
  if (free === undefined) {
    free = isSchemaFree(compiledQuery.query);
    if (schemaFreeByText.size >= 4096) schemaFreeByText.clear();
    schemaFreeByText.set(compiledQuery.sql, free);
  }
  return free;
}

const rowCountCommands = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

function queryResultOf<R>(result: PgliteResults<R> | undefined): QueryResult<R> {
  if (result === undefined) return { rows: [] };
  const { command } = result;
  return {
    rows: result.rows,
    numAffectedRows: command !== undefined && rowCountCommands.has(command) && result.affectedRows !== undefined ? BigInt(result.affectedRows) : undefined,
  };
}

/**
 * ServiceDatabase.batch on the shared session: the whole transaction goes as one message and the
 * session is held only to send it, like a statement of its own (SharedPglite.send), where an
 * interactive transaction holds it for a round trip per statement. Only for statements that name
 * their schema (a search_path switch would be the session's, not the batch's), and only on a
 * session that has `batch`.
 */
export function sharedPgliteBatch(shared: SharedPglite): BatchRunner {
  return (statements) => {
    const batch = shared.pglite.batch?.bind(shared.pglite);
    if (batch === undefined || !statements.every((statement) => schemaFree(statement.compiled))) return undefined;
    const sent = statements.map(({ compiled, guarded }) => ({ sql: compiled.sql, params: [...compiled.parameters], prepare: true, guarded }));
    return shared.send(async () => {
      const answer = await batch(sent);
      return 'unchanged' in answer ? answer : { results: answer.results.map((result) => queryResultOf(result)) };
    });
  };
}

class SharedPgliteConnection implements DatabaseConnection {
  readonly #shared: SharedPglite;
  readonly #schema: string;
  /** Set while this handle owns the session for a transaction. */
  #release: ReleaseLock | undefined;
  /** The transaction's BEGIN until its first statement carries it to the session. */
  #pendingBegin: string | undefined;
  /** The transaction set the session's search_path, which its rollback would undo. */
  #switchedSchema = false;

  constructor(shared: SharedPglite, schema: string) {
    this.#shared = shared;
    this.#schema = schema;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const schema = schemaFree(compiledQuery) ? undefined : this.#schema;
    // Only a statement that names its schema may be kept prepared: an unqualified one means
    // another table in each service's search_path.
    const prepare = schema === undefined;
    if (this.#release) {
      let begin = this.#takePendingBegin();
      if (schema !== undefined) {
        // The switch is part of the transaction (a ROLLBACK undoes it): BEGIN goes first, alone.
        if (begin !== undefined) await this.#shared.pglite.exec(begin);
        begin = undefined;
        this.#switchedSchema = true;
        await this.#shared.useSchema(schema);
      }
      return await run<R>(this.#shared.pglite, compiledQuery, prepare, begin);
    }
    if (schema === undefined) return await this.#shared.send((pglite) => run<R>(pglite, compiledQuery, prepare));
    return await this.#shared.exclusive(schema, (pglite) => run<R>(pglite, compiledQuery, prepare));
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on PGlite: page with a keyset cursor instead');
  }

  // BEGIN, COMMIT and ROLLBACK take no parameters: the simple protocol runs each in one message,
  // where PGlite's query() sends six (parse, describe, bind, describe, execute, sync): 76 against
  // 196 µs for a BEGIN and COMMIT pair in memory. BEGIN is not sent on its own but with the
  // transaction's first statement: on the thread every message costs ~50 µs of CPU each way
  // beside the statement, and a trip runs a dozen transactions.
  async begin(settings: TransactionSettings): Promise<void> {
    this.#release = await this.#shared.lease();
    this.#pendingBegin = beginStatement(settings);
  }

  async commit(): Promise<void> {
    // Nothing ran: there is no transaction to end.
    if (this.#takePendingBegin() !== undefined) return this.#endTransaction();
    const committing = this.#shared.pglite.exec('commit');
    // The session is free once COMMIT is on its way, where statements run in the order sent: the
    // next caller's goes right behind it. Not when this transaction set the search_path: should
    // it end in a rollback, the switch is undone, and the session must know before anyone relies on it.
    if (this.#shared.pglite.ordered && !this.#switchedSchema) this.#endTransaction();
    try {
      const result = (await committing).at(-1);
      // Postgres answers COMMIT of an aborted transaction with ROLLBACK instead of an error;
      // kysely's pg driver turns that into this error, so PGlite does the same.
      if (result?.command === 'ROLLBACK') {
        this.#shared.forgetSearchPath();
        throw new AbortedTransactionError();
      }
    } finally {
      this.#endTransaction();
    }
  }

  async rollback(): Promise<void> {
    // After a COMMIT that failed (kysely then rolls back): the transaction ended with it, and the
    // session may already run someone else's, which a ROLLBACK now would undo.
    if (this.#release === undefined) return;
    if (this.#takePendingBegin() !== undefined) return this.#endTransaction();
    try {
      await this.#shared.pglite.exec('rollback');
    } finally {
      this.#shared.forgetSearchPath();
      this.#endTransaction();
    }
  }

  #takePendingBegin(): string | undefined {
    const begin = this.#pendingBegin;
    this.#pendingBegin = undefined;
    return begin;
  }

  #endTransaction(): void {
    const release = this.#release;
    this.#release = undefined;
    this.#switchedSchema = false;
    release?.();
  }
}

/**
 * Statements without parameters go through the simple-query protocol, like pg does, so a
 * multi-statement script (a migration file) behaves the same on both engines.
 */
async function run<R>(pglite: PgliteSession, compiledQuery: CompiledQuery, prepare: boolean, begin?: string): Promise<QueryResult<R>> {
  const { sql, parameters } = compiledQuery;
  let result: PgliteResults<R> | undefined;
  if (parameters.length === 0) {
    const results = await pglite.exec(sql, { rowMode: 'object', ...(begin !== undefined && { begin }) });
    result = results.at(-1) as PgliteResults<R> | undefined;
  } else {
    result = await pglite.query<R>(sql, [...parameters], { rowMode: 'object', prepare, ...(begin !== undefined && { begin }) });
  }
  return queryResultOf(result);
}
