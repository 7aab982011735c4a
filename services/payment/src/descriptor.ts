import { paymentRpc } from '@carshare/contracts';
import { defineService, requireDatabase } from '@carshare/service-kit';
import { paymentConfigShape } from './config.ts';
import { createPaymentModule, paymentMigrationsDir } from './module.ts';

/** Say in one line what the payment service owns. */
export const paymentDescriptor = defineService({
  name: 'payment',
  ...paymentConfigShape,
  migrationsDir: paymentMigrationsDir,
  messaging: false,
  rpc: paymentRpc,
  // The user service publishes the keys that verify callers' access tokens.
  calls: ['user'],
  createModule: (deps) => createPaymentModule({ ...deps, database: requireDatabase(deps, 'payment') }),
});
