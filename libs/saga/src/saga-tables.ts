import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { MigrationResult, ServiceDatabase } from '@carshare/storage';

/** The forward-only SQL files that create the saga log (saga, saga_step). */
export function sagaMigrationsDir(): string {
  // Through the package, not this file's folder: `npm start` runs a bundle in dist/.
  return join(dirname(createRequire(import.meta.url).resolve('@carshare/saga/package.json')), 'migrations');
}

/**
 * Creates or upgrades the saga log in the service's own schema, with a ledger of its own
 * (`saga_migrations`): the service's migrations and these share the schema, not the ledger.
 */
export function migrateSagaTables(database: ServiceDatabase): Promise<MigrationResult> {
  return database.migrate(sagaMigrationsDir(), { ledger: 'saga_migrations' });
}
