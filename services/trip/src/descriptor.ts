import { tripRpc } from '@carshare/contracts';
import { defineService, requireDatabase } from '@carshare/service-kit';
import { tripConfigShape } from './config.ts';
import { createTripModule, tripMigrationsDir } from './module.ts';

/** Say in one line what the trip service owns. */
export const tripDescriptor = defineService({
  name: 'trip',
  ...tripConfigShape,
  migrationsDir: tripMigrationsDir,
  messaging: false,
  rpc: tripRpc,
  // The user service publishes the keys that verify callers' access tokens.
  calls: ['user'],
  createModule: (deps) => createTripModule({ ...deps, database: requireDatabase(deps, 'trip') }),
});
