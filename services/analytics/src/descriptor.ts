import { analyticsRpc } from '@carshare/contracts';
import { defineService, requireDatabase } from '@carshare/service-kit';
import { analyticsConfigShape } from './config.ts';
import { createAnalyticsModule, analyticsMigrationsDir } from './module.ts';

/** Say in one line what the analytics service owns. */
export const analyticsDescriptor = defineService({
  name: 'analytics',
  ...analyticsConfigShape,
  migrationsDir: analyticsMigrationsDir,
  messaging: false,
  rpc: analyticsRpc,
  // Callers arrive with signed service identities (ADR 0012): no other service is needed to check them.
  calls: [],
  createModule: (deps) => createAnalyticsModule({ ...deps, database: requireDatabase(deps, 'analytics') }),
});
