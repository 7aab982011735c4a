import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { analyticsMigrationsDir } from '../module.ts';
import type { AnalyticsDatabase } from './analytics-database.ts';
import { itemStoreContract } from './item-store.contract.ts';
import { MemoryItemStore } from './memory-item-store.ts';
import { SqlItemStore } from './sql-item-store.ts';

async function sqlStore(engine: SqlEngine, schema: string) {
  const database = engine.forService<AnalyticsDatabase>(schema);
  await database.migrate(analyticsMigrationsDir);
  return {
    store: new SqlItemStore(database.db),
    async close() {
      try {
        if (engine.kind === 'postgres') await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
      } finally {
        await engine.close();
      }
    },
  };
}

itemStoreContract('memory', async () => ({ store: new MemoryItemStore(), close: async () => undefined }));
itemStoreContract('PGlite', async () => sqlStore(await openSqlEngine({ dataDir: 'memory://' }), 'analytics'));

const databaseUrl = process.env['DATABASE_URL'];
if (databaseUrl) {
  // A schema of its own per run: other runs may share this server.
  itemStoreContract('PostgreSQL', async () => sqlStore(await openSqlEngine({ databaseUrl, dataDir: '' }), `analytics_test_${process.pid}_${Date.now()}`));
}
