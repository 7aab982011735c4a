import { defineService } from '@carshare/service-kit';
import { gatewayConfigShape } from './config.ts';
import { createGatewayModule } from './module.ts';

/** The public front door: HTTP /v1 → RPC to every registered service, with edge protection. */
export const gatewayDescriptor = defineService({
  name: 'gateway',
  ...gatewayConfigShape,
  // A broadcast subscriber only (revocations): no outbox, inbox or consumer group of its own.
  messaging: true,
  calls: 'every service',
  edge: true,
  createModule: (deps) => createGatewayModule(deps),
});
