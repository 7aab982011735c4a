import { openTestDatabase as openSchema, type TestDatabase, type TestDatabaseOptions } from '@carshare/storage';
import { migrateMessagingTables } from './messaging-tables.ts';

export { temporaryDirectory, type TestDatabase } from '@carshare/storage';

/** A service schema with the messaging tables for a test (see storage's openTestDatabase). */
export function openTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  return openSchema({ ...options, schemaPrefix: 'msg_test', prepare: migrateMessagingTables });
}
