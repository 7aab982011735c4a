import { blobRpc } from '@carshare/contracts';
import { defineService, requireBus, requireDatabase } from '@carshare/service-kit';
import { blobConfigShape } from './config.ts';
import { createBlobModule, blobMigrationsDir } from './module.ts';

/** Uploaded files (licence photos, selfies, avatars, damage photos): records here, bytes in the object store. */
export const blobDescriptor = defineService({
  name: 'blob',
  ...blobConfigShape,
  migrationsDir: blobMigrationsDir,
  messaging: true,
  rpc: blobRpc,
  calls: [],
  createModule: (deps) => createBlobModule({ ...deps, database: requireDatabase(deps, 'blob'), bus: requireBus(deps, 'blob') }),
});
