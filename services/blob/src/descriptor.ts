import { blobRpc } from '@carshare/contracts';
import { defineService, requireDatabase } from '@carshare/service-kit';
import { blobConfigShape } from './config.ts';
import { createBlobModule, blobMigrationsDir } from './module.ts';

/** Say in one line what the blob service owns. */
export const blobDescriptor = defineService({
  name: 'blob',
  ...blobConfigShape,
  migrationsDir: blobMigrationsDir,
  messaging: false,
  rpc: blobRpc,
  // The user service publishes the keys that verify callers' access tokens.
  calls: ['user'],
  createModule: (deps) => createBlobModule({ ...deps, database: requireDatabase(deps, 'blob') }),
});
