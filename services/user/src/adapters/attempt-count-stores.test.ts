import { MemoryAttemptCountStore } from '../testing/memory-account-security-stores.ts';
import { describeAttemptCountStoreContract } from './attempt-count-store.contract.ts';

// The fake under the same contract as the SQL store (user-service-sql.test.ts runs that one).
describeAttemptCountStoreContract('memory', async () => ({ store: new MemoryAttemptCountStore(), close: async () => {} }));
