import { openPgliteSqlEngine } from './pglite-sql-engine.ts';
import { openPostgresSqlEngine } from './postgres-sql-engine.ts';
import type { ServiceDatabase } from './service-database.ts';

export type SqlEngineKind = 'pglite' | 'postgres';

export interface SqlEngineOptions {
  /** PostgreSQL URL; unset or empty → embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** PGlite data directory (created if missing; give it a folder of its own) or 'memory://'. */
  dataDir: string;
  /** Postgres connections per service pool. Default 5: eight services stay under max_connections 100. */
  poolSize?: number;
  /** Postgres: how long to wait for a new connection. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * PGlite: run its statements on a worker thread (default), or on the event loop. The worker keeps
   * PostgreSQL's WebAssembly off the loop that serves requests (ADR 0031).
   */
  pgliteThread?: 'worker' | 'event-loop' | undefined;
  /** PGlite: longest wait for the single shared session before Unavailable('DATABASE_BUSY'). Default 10000 ms. */
  busyTimeoutMs?: number;
  /** ping() fails with Unavailable after this long. Default 2000 ms. */
  pingTimeoutMs?: number;
  /** Opening PGlite takes ~2 s the first time, ~0.35 s after: the caller decides what to log. */
  onProgress?: (event: SqlEngineProgress) => void;
}

export type SqlEngineProgress =
  | { phase: 'opening'; kind: SqlEngineKind; location: string; firstRun: boolean }
  | { phase: 'ready'; kind: SqlEngineKind; location: string; durationMs: number };

export interface SqlEngine {
  readonly kind: SqlEngineKind;
  /** Cheap and memoised per schema; the schema itself is created by `migrate`. */
  forService<DB = any>(schema: string): ServiceDatabase<DB>;
  close(): Promise<void>;
}

/** One per process: PGlite is one session that all services share. */
export async function openSqlEngine(options: SqlEngineOptions): Promise<SqlEngine> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') {
    return await openPostgresSqlEngine({ ...options, databaseUrl: options.databaseUrl });
  }
  return await openPgliteSqlEngine(options);
}
