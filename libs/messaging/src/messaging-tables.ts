import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { MigrationResult, ServiceDatabase } from '@carshare/storage';

/** The forward-only SQL files that create this library's tables (outbox, inbox, dead_letter). */
export function messagingMigrationsDir(): string {
  // Through the package, not this file's folder: `npm start` runs a bundle in dist/.
  return join(dirname(createRequire(import.meta.url).resolve('@carshare/messaging/package.json')), 'migrations');
}

/**
 * Creates or upgrades the outbox, inbox and dead_letter tables in the service's own schema,
 * with storage's runner and rules, in a ledger of their own (`messaging_migrations`): the
 * service's ledger refuses versions whose file is missing from the folder being migrated, so
 * two folders cannot share one.
 */
export async function migrateMessagingTables(database: ServiceDatabase): Promise<MigrationResult> {
  return await database.migrate(messagingMigrationsDir(), { ledger: 'messaging_migrations' });
}
