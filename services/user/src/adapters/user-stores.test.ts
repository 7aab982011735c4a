import { MemoryRefreshTokenStore } from '../testing/memory-refresh-token-store.ts';
import { MemoryUserStore } from '../testing/memory-user-store.ts';
import { aUserRecord } from '../testing/user-factories.ts';
import { describeRefreshTokenStoreContract } from './refresh-token-store.contract.ts';
import { describeUserStoreContract } from './user-store.contract.ts';

// The in-memory fakes the use-case tests run on, held to the contract of the SQL stores, which
// run it in user-service-sql.test.ts (where PGlite is already started).

describeUserStoreContract('memory', async () => {
  const store = new MemoryUserStore();
  return { inTransaction: (work) => work(store), close: async () => {} };
});

describeRefreshTokenStoreContract('memory', async () => ({
  store: new MemoryRefreshTokenStore(),
  userIds: [aUserRecord().id, aUserRecord().id],
  close: async () => {},
}));
