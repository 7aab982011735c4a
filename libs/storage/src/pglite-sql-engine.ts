import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Conflict } from '@carshare/platform';
import { Kysely } from 'kysely';
import { lockDataDir, type UnlockDataDir } from './data-dir-lock.ts';
import { assertSchemaName } from './schema-name.ts';
import { createServiceDatabase, type ServiceDatabase } from './service-database.ts';
import { SharedPglite } from './shared-pglite.ts';
import { SharedPgliteDialect } from './shared-pglite-dialect.ts';
import { sqlEngineDefaults } from './sql-engine-defaults.ts';
import type { SqlEngine, SqlEngineOptions } from './sql-engine.ts';

export async function openPgliteSqlEngine(options: SqlEngineOptions): Promise<SqlEngine> {
  const inMemory = options.dataDir.startsWith('memory://');
  const location = inMemory ? options.dataDir : resolve(options.dataDir);
  let unlock: UnlockDataDir = async () => {};
  let firstRun = true;
  if (!inMemory) {
    await mkdir(location, { recursive: true });
    unlock = await lockDataDir(location);
    firstRun = !existsSync(join(location, 'PG_VERSION'));
  }

  const started = performance.now();
  options.onProgress?.({ phase: 'opening', kind: 'pglite', location, firstRun });
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(location);
  } catch (error) {
    await unlock();
    throw error;
  }
  options.onProgress?.({ phase: 'ready', kind: 'pglite', location, durationMs: Math.round(performance.now() - started) });

  const shared = new SharedPglite(pglite, { lockTimeoutMs: options.busyTimeoutMs ?? sqlEngineDefaults.busyTimeoutMs });
  const services = new Map<string, ServiceDatabase>();
  let closed = false;

  return {
    kind: 'pglite',
    forService<DB>(schema: string): ServiceDatabase<DB> {
      if (closed) throw Conflict('SQL_ENGINE_CLOSED', 'the SQL engine is closed');
      let service = services.get(schema);
      if (service === undefined) {
        assertSchemaName(schema);
        service = createServiceDatabase({
          schema,
          db: new Kysely<any>({ dialect: new SharedPgliteDialect(shared, schema) }),
          pingTimeoutMs: options.pingTimeoutMs ?? sqlEngineDefaults.pingTimeoutMs,
        });
        services.set(schema, service);
      }
      return service as ServiceDatabase<DB>;
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...services.values()].map((service) => service.db.destroy()));
      try {
        await shared.close();
      } finally {
        await unlock();
      }
    },
  };
}
