import { profileRpc } from '@carshare/contracts';
import { defineService, requireDatabase } from '@carshare/service-kit';
import { profileConfigShape } from './config.ts';
import { createProfileModule, profileMigrationsDir } from './module.ts';

/** Say in one line what the profile service owns. */
export const profileDescriptor = defineService({
  name: 'profile',
  ...profileConfigShape,
  migrationsDir: profileMigrationsDir,
  messaging: false,
  rpc: profileRpc,
  // The user service publishes the keys that verify callers' access tokens.
  calls: ['user'],
  createModule: (deps) => createProfileModule({ ...deps, database: requireDatabase(deps, 'profile') }),
});
