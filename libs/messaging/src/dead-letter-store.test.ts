import { uuidV7Ids } from '@carshare/platform';
import { describeDeadLetterStoreContract } from './dead-letter-store.contract.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';
import { SqlDeadLetterStore } from './sql-dead-letter-store.ts';
import { openTestDatabase } from './test-database.ts';

// Ids come from a generator that follows the fake clock, so "newest first" is deterministic.
function idsFollowing(clock: { now(): number }): { next(): string } {
  let last = 0;
  return {
    next() {
      const id = uuidV7Ids.next();
      const millis = Math.max(clock.now(), last + 1);
      last = millis;
      return millis.toString(16).padStart(12, '0').replace(/^(.{8})(.{4})$/, '$1-$2') + id.slice(13);
    },
  };
}

describeDeadLetterStoreContract('memory', async (clock, registry) => ({
  store: new MemoryDeadLetterStore({ clock, registry, ids: idsFollowing(clock) }),
  clock,
  registry,
  close: async () => {},
}));

describeDeadLetterStoreContract('SQL on PGlite', async (clock, registry) => {
  const testDb = await openTestDatabase();
  return { store: new SqlDeadLetterStore({ database: testDb.database, clock, registry, ids: idsFollowing(clock) }), clock, registry, close: () => testDb.close() };
});

if (process.env.DATABASE_URL) {
  describeDeadLetterStoreContract('SQL on PostgreSQL', async (clock, registry) => {
    const testDb = await openTestDatabase({ databaseUrl: process.env.DATABASE_URL });
    return { store: new SqlDeadLetterStore({ database: testDb.database, clock, registry, ids: idsFollowing(clock) }), clock, registry, close: () => testDb.close() };
  });
}
