import { after } from 'node:test';
import { Outbox } from '@carshare/messaging';
import { openSqlEngine, type ServiceDatabase, type SqlEngine } from '@carshare/storage';
import { sql, type Kysely } from 'kysely';
import { userMigrationsDir } from '../module.ts';
import { MemoryRefreshTokenStore } from '../testing/memory-refresh-token-store.ts';
import { MemoryUserStore } from '../testing/memory-user-store.ts';
import { aUserRecord } from '../testing/user-factories.ts';
import { describeRefreshTokenStoreContract } from './refresh-token-store.contract.ts';
import { SqlRefreshTokenStore } from './sql-refresh-token-store.ts';
import { SqlUnitOfWork } from './sql-unit-of-work.ts';
import type { UserDatabase } from './user-database.ts';
import { describeUserStoreContract } from './user-store.contract.ts';

// The in-memory fakes the use-case tests run on, held to the same contract as the SQL stores.

// One engine per database for the whole file: opening PGlite costs seconds, a schema costs little.
const engines = new Map<string, Promise<SqlEngine>>();

after(async () => {
  for (const engine of engines.values()) await (await engine).close();
});

async function openUserDatabase(databaseUrl: string | undefined): Promise<{ database: ServiceDatabase<UserDatabase>; close: () => Promise<void> }> {
  const key = databaseUrl ?? 'pglite';
  if (!engines.has(key)) engines.set(key, openSqlEngine({ databaseUrl, dataDir: 'memory://' }));
  const engine = await (engines.get(key) as Promise<SqlEngine>);
  const schema = `user_contract_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const database = engine.forService<UserDatabase>(schema);
  await database.migrate(userMigrationsDir);
  return {
    database,
    close: async () => {
      if (engine.kind === 'postgres') await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(database.db);
    },
  };
}

describeUserStoreContract('memory', async () => {
  const store = new MemoryUserStore();
  return { inTransaction: (work) => work(store), close: async () => {} };
});

describeRefreshTokenStoreContract('memory', async () => ({
  store: new MemoryRefreshTokenStore(),
  userIds: [aUserRecord().id, aUserRecord().id],
  close: async () => {},
}));

for (const [name, databaseUrl] of [['SQL on PGlite', undefined], ...(process.env.DATABASE_URL ? [['SQL on PostgreSQL', process.env.DATABASE_URL]] : [])] as const) {
  describeUserStoreContract(name, async () => {
    const { database, close } = await openUserDatabase(databaseUrl);
    const unitOfWork = new SqlUnitOfWork(database, new Outbox());
    return { inTransaction: (work) => unitOfWork.run((tx) => work(tx.users)), close };
  });

  describeRefreshTokenStoreContract(name, async () => {
    const { database, close } = await openUserDatabase(databaseUrl);
    const owners = [aUserRecord(), aUserRecord()] as const;
    await new SqlUnitOfWork(database, new Outbox()).run(async (tx) => {
      for (const owner of owners) await tx.users.insert(owner);
    });
    const store = new SqlRefreshTokenStore(database.db, (work) => database.transaction((trx) => work(trx as unknown as Kysely<UserDatabase>)));
    return { store, userIds: [owners[0].id, owners[1].id], close };
  });
}
