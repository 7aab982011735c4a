import { carRpc } from '@carshare/contracts';
import { defineService, requireBus, requireDatabase } from '@carshare/service-kit';
import { carConfigShape } from './config.ts';
import { createCarModule, carMigrationsDir } from './module.ts';

/** Cars, their state machine, their devices (MQTT gateway), telemetry and the command log. */
export const carDescriptor = defineService({
  name: 'car',
  ...carConfigShape,
  migrationsDir: carMigrationsDir,
  messaging: true,
  rpc: carRpc,
  // Callers arrive with signed service identities (ADR 0012): no other service is needed to check them.
  calls: [],
  createModule: (deps) => createCarModule({ ...deps, database: requireDatabase(deps, 'car'), bus: requireBus(deps, 'car') }),
});
