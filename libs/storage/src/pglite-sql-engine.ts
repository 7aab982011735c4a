import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { lockDataDir, reclaimDataDirLock, type UnlockDataDir } from './data-dir-lock.ts';
import { keepPgliteTemplate, readPgliteTemplate } from './pglite-template.ts';
import type { PGlite } from '@electric-sql/pglite';
import { openPgliteThread, type PgliteSession } from './pglite-thread.ts';
import { schemaPerServiceEngine } from './schema-per-service-engine.ts';
import { SharedPglite } from './shared-pglite.ts';
import { sharedPgliteBatch, SharedPgliteDialect } from './shared-pglite-dialect.ts';
import { sqlEngineDefaults } from './sql-engine-defaults.ts';
import type { SqlEngine, SqlEngineOptions } from './sql-engine.ts';

/**
 * initdb's 128 MB of shared buffers is sized for a server: PGlite sets them up on every open, which
 * cost ~0.4 s of a warm `npm start` here (ready in 2.2 s → 1.6 s) and ~100 MB of resident memory.
 * In PGlite they live in its WebAssembly memory and are touched at start, so they are resident
 * whether used or not: 32 MB → 16 MB took that memory from 49 MB to 31 MB resident
 * (`npm run bench -- memory`). One laptop's data fits in 16 MB many times over, and pages that do
 * not are a page-cache read away. Other settings (work_mem, temp_buffers, maintenance_work_mem)
 * are allocated per operation, not at start, and cost nothing idle.
 */
const embeddedSettings = ['-c', 'shared_buffers=16MB'];

/**
 * PGlite on the event loop (`pgliteThread: 'event-loop'`): a BEGIN that comes with a statement
 * runs just before it. No `batch`: a service's batch runs as an ordinary transaction here; on the
 * event loop each statement is awaited in turn either way.
 */
function inProcessSession(instance: PGlite): PgliteSession {
  return {
    get closed() {
      return instance.closed;
    },
    // PGlite queues each call only after awaits of its own: order is kept by awaiting each answer.
    ordered: false,
    async query(sql, params, options) {
      const { begin, ...rest } = options ?? {};
      if (begin !== undefined) await instance.exec(begin);
      return await instance.query(sql, params, { rowMode: 'object', ...rest });
    },
    async exec(sql, options) {
      const { begin, ...rest } = options ?? {};
      if (begin !== undefined) await instance.exec(begin);
      return await instance.exec(sql, { rowMode: 'object', ...rest });
    },
    close: () => instance.close(),
  };
}

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
  let pglite: PgliteSession;
  try {
    // A new cluster (in memory, or a folder without one) starts from the machine's template of
    // a fresh one instead of running initdb again (pglite-template.ts).
    const template = firstRun ? await readPgliteTemplate() : undefined;
    const keepTemplate = firstRun && !template;
    if ((options.pgliteThread ?? 'worker') === 'worker') {
      const opened = await openPgliteThread({ location, startParams: embeddedSettings, ...(template && { template }), keepTemplate });
      pglite = opened.session;
      if (opened.freshTemplate) await keepPgliteTemplate(opened.freshTemplate);
    } else {
      const { PGlite } = await import('@electric-sql/pglite');
      const instance = await PGlite.create(location, { startParams: [...PGlite.defaultStartParams, ...embeddedSettings], ...(template && { loadDataDir: new Blob([template]) }) });
      pglite = inProcessSession(instance);
      if (keepTemplate) await keepPgliteTemplate(new Uint8Array(await (await instance.dumpDataDir('none')).arrayBuffer()));
    }
    if (template && !inMemory) await reclaimDataDirLock(location);
  } catch (error) {
    await unlock();
    throw error;
  }
  options.onProgress?.({ phase: 'ready', kind: 'pglite', location, durationMs: Math.round(performance.now() - started) });

  const shared = new SharedPglite(pglite, { lockTimeoutMs: options.busyTimeoutMs ?? sqlEngineDefaults.busyTimeoutMs });
  return schemaPerServiceEngine({
    kind: 'pglite',
    dialectFor: (schema) => new SharedPgliteDialect(shared, schema),
    batch: sharedPgliteBatch(shared),
    pingTimeoutMs: options.pingTimeoutMs ?? sqlEngineDefaults.pingTimeoutMs,
    afterClose: async () => {
      try {
        await shared.close();
      } finally {
        await unlock();
      }
    },
  });
}
