import { Conflict } from '@carshare/platform';
import { Kysely, WithSchemaPlugin, type Dialect } from 'kysely';
import { assertSchemaName } from './schema-name.ts';
import { createServiceDatabase, type BatchRunner, type ServiceDatabase } from './service-database.ts';
import type { SqlEngine, SqlEngineKind } from './sql-engine.ts';

export interface SchemaPerServiceEngineOptions {
  kind: SqlEngineKind;
  /** How one service's connections reach its schema (a shared PGlite session or a pool). */
  dialectFor(schema: string): Dialect;
  /** How a service's batch goes at once, when the engine has a way (ServiceDatabase.batch). */
  batch?: BatchRunner;
  pingTimeoutMs: number;
  /** Runs after every service's connections are closed (the shared PGlite, the data-dir lock). */
  afterClose?: () => Promise<void>;
}

/** What both engines share: one memoised ServiceDatabase per schema, and one close for all. */
export function schemaPerServiceEngine(options: SchemaPerServiceEngineOptions): SqlEngine {
  const services = new Map<string, ServiceDatabase>();
  let closed = false;
  return {
    kind: options.kind,
    forService<DB>(schema: string): ServiceDatabase<DB> {
      if (closed) throw Conflict('SQL_ENGINE_CLOSED', 'the SQL engine is closed');
      let service = services.get(schema);
      if (service === undefined) {
        assertSchemaName(schema);
        service = createServiceDatabase({
          schema,
          // On the shared PGlite session builder queries name the schema, so they need no
          // search_path switch. Not on PostgreSQL, where each connection starts in its schema:
          // the plugin re-builds every query's tree (~2.5 ms of CPU per trip in the trips bench).
          db: new Kysely<any>({ dialect: options.dialectFor(schema), plugins: options.kind === 'pglite' ? [new WithSchemaPlugin(schema)] : [] }),
          pingTimeoutMs: options.pingTimeoutMs,
          batch: options.batch,
        });
        services.set(schema, service);
      }
      return service as ServiceDatabase<DB>;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await Promise.all([...services.values()].map((service) => service.db.destroy()));
      } finally {
        await options.afterClose?.();
      }
    },
  };
}
