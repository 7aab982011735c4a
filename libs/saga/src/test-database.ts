import { openTestDatabase as openSchema, type TestDatabase, type TestDatabaseOptions } from '@carshare/storage';
import { migrateSagaTables } from './saga-tables.ts';

export { temporaryDirectory, type TestDatabase } from '@carshare/storage';

/** A service schema with the saga log for a test (see storage's openTestDatabase). */
export function openTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  return openSchema({ ...options, schemaPrefix: 'saga_test', prepare: migrateSagaTables });
}
