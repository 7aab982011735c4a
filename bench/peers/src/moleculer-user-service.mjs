/**
 * Moleculer 0.14 node `users` on the TCP transporter (no UDP discovery: both nodes are listed
 * in PEER_TCP_URLS): action `users.get` answers an account from memory, its params checked by
 * Moleculer's built-in fastest-validator (`userId` a UUID, `$$strict` rejecting unknown keys).
 *
 *   PEER_TCP_PORT=… PEER_TCP_URLS=… PEER_RIDER_ID=… node moleculer-user-service.mjs
 */
import moleculer from 'moleculer';
import { announceReady, closeWithParent, portFromEnv, requiredEnv } from './child.mjs';
import { createUserStore } from './users.mjs';

const { Errors, ServiceBroker } = moleculer;
const users = createUserStore(requiredEnv('PEER_RIDER_ID'));

const broker = new ServiceBroker({
  nodeID: 'users',
  transporter: { type: 'TCP', options: { udpDiscovery: false, port: portFromEnv('PEER_TCP_PORT'), urls: requiredEnv('PEER_TCP_URLS') } },
  logger: false,
  validator: true,
});

broker.createService({
  name: 'users',
  actions: {
    get: {
      params: { $$strict: true, userId: { type: 'uuid' } },
      handler(ctx) {
        const user = users.get(ctx.params.userId);
        if (!user) throw new Errors.MoleculerClientError('no such user', 404, 'USER_NOT_FOUND');
        return user;
      },
    },
  },
});

await broker.start();
closeWithParent(() => broker.stop());
announceReady({ nodeID: broker.nodeID });
