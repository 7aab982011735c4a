import { tripRpc } from '@carshare/contracts';
import { defineService, requireBus, requireDatabase } from '@carshare/service-kit';
import { tripConfigShape } from './config.ts';
import { createTripModule, tripMigrationsDir } from './module.ts';

/** Reservations and trips: holds on cars, the start-trip saga, pricing, zones and receipts. */
export const tripDescriptor = defineService({
  name: 'trip',
  ...tripConfigShape,
  migrationsDir: tripMigrationsDir,
  messaging: true,
  rpc: tripRpc,
  // The user service publishes the keys that verify callers' access tokens; car, profile and payment take part in reservations and the start-trip saga.
  calls: ['user', 'car', 'profile', 'payment'],
  createModule: (deps) => createTripModule({ ...deps, database: requireDatabase(deps, 'trip'), bus: requireBus(deps, 'trip') }),
});
