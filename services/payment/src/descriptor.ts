import { paymentRpc } from '@carshare/contracts';
import { defineService, requireBus, requireDatabase } from '@carshare/service-kit';
import { paymentConfigShape } from './config.ts';
import { createPaymentModule, paymentMigrationsDir } from './module.ts';

/** Holds on riders' cards, captures, refunds, and the double-entry ledger that accounts for them. */
export const paymentDescriptor = defineService({
  name: 'payment',
  ...paymentConfigShape,
  migrationsDir: paymentMigrationsDir,
  messaging: true,
  rpc: paymentRpc,
  calls: [],
  createModule: (deps) => createPaymentModule({ ...deps, database: requireDatabase(deps, 'payment'), bus: requireBus(deps, 'payment') }),
});
