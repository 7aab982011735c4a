import { profileRpc } from '@carshare/contracts';
import { defineService, requireBus, requireDatabase } from '@carshare/service-kit';
import { profileConfigShape } from './config.ts';
import { createProfileModule, profileMigrationsDir } from './module.ts';

/** Driving-licence profiles: fields, photos, OCR reading, operator review, audited decisions. */
export const profileDescriptor = defineService({
  name: 'profile',
  ...profileConfigShape,
  migrationsDir: profileMigrationsDir,
  messaging: true,
  rpc: profileRpc,
  // user: the keys that verify callers' tokens; blob: the licence photos.
  calls: ['user', 'blob'],
  createModule: (deps) => createProfileModule({ ...deps, database: requireDatabase(deps, 'profile'), bus: requireBus(deps, 'profile') }),
});
