import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { tripMigrationsDir } from '../module.ts';
import type { TripDatabase } from './trip-database.ts';
import { itemStoreContract } from './item-store.contract.ts';
import { MemoryItemStore } from './memory-item-store.ts';
import { SqlItemStore } from './sql-item-store.ts';

async function sqlStore(engine: SqlEngine, schema: string) {
  const database = engine.forService<TripDatabase>(schema);
  await database.migrate(tripMigrationsDir);
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
itemStoreContract('PGlite', async () => sqlStore(await openSqlEngine({ dataDir: 'memory://' }), 'trip'));

const databaseUrl = process.env['DATABASE_URL'];
if (databaseUrl) {
  // A schema of its own per run: other runs may share this server.
  itemStoreContract('PostgreSQL', async () => sqlStore(await openSqlEngine({ databaseUrl, dataDir: '' }), `trip_test_${process.pid}_${Date.now()}`));
}
