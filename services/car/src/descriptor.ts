import { carRpc } from '@carshare/contracts';
import { defineService, requireDatabase } from '@carshare/service-kit';
import { carConfigShape } from './config.ts';
import { createCarModule, carMigrationsDir } from './module.ts';

/** Say in one line what the car service owns. */
export const carDescriptor = defineService({
  name: 'car',
  ...carConfigShape,
  migrationsDir: carMigrationsDir,
  messaging: false,
  rpc: carRpc,
  // The user service publishes the keys that verify callers' access tokens.
  calls: ['user'],
  createModule: (deps) => createCarModule({ ...deps, database: requireDatabase(deps, 'car') }),
});
