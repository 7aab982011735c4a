import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { blobMigrationsDir } from '../module.ts';
import { MemoryBlobRecordStore } from '../testing/memory-blob-record-store.ts';
import type { BlobDatabase } from './blob-database.ts';
import { blobRecordStoreContract } from './blob-record-store.contract.ts';
import { SqlBlobRecordStore } from './sql-blob-record-store.ts';

async function sqlStore(engine: SqlEngine, schema: string) {
  const database = engine.forService<BlobDatabase>(schema);
  await database.migrate(blobMigrationsDir);
  return {
    store: new SqlBlobRecordStore(database.db),
    async close() {
      try {
        if (engine.kind === 'postgres') await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
      } finally {
        await engine.close();
      }
    },
  };
}

blobRecordStoreContract('memory', async () => ({ store: new MemoryBlobRecordStore(), close: async () => undefined }));
blobRecordStoreContract('PGlite', async () => sqlStore(await openSqlEngine({ dataDir: 'memory://' }), 'blob'));

const databaseUrl = process.env['DATABASE_URL'];
if (databaseUrl) {
  // A schema of its own per run: other runs may share this server.
  blobRecordStoreContract('PostgreSQL', async () => sqlStore(await openSqlEngine({ databaseUrl, dataDir: '' }), `blob_test_${process.pid}_${Date.now()}`));
}
