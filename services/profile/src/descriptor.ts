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
  // The licence photos. Callers are known by their signed service identity (ADR 0012), so the
  // user service's keys are not needed here.
  calls: ['blob'],
  createModule: (deps) => createProfileModule({ ...deps, database: requireDatabase(deps, 'profile'), bus: requireBus(deps, 'profile') }),
});
