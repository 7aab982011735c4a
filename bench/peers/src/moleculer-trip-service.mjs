/**
 * Moleculer 0.14 node `trips` on the TCP transporter: action `trips.activity` answers a rider's
 * active reservation and live trip from memory (our trip service's GetMyActivity for a rider it
 * knows holds nothing), its params checked by fastest-validator (`riderId` a UUID, `$$strict`
 * rejecting unknown keys). The second service of the composed /v1/me.
 *
 *   PEER_TCP_PORT=… PEER_TCP_URLS=… PEER_RIDER_ID=… node moleculer-trip-service.mjs
 */
import moleculer from 'moleculer';
import { createActivityStore } from './activities.mjs';
import { announceReady, closeWithParent, portFromEnv, requiredEnv } from './child.mjs';

const { ServiceBroker } = moleculer;
const activities = createActivityStore(requiredEnv('PEER_RIDER_ID'));

const broker = new ServiceBroker({
  nodeID: 'trips',
  transporter: { type: 'TCP', options: { udpDiscovery: false, port: portFromEnv('PEER_TCP_PORT'), urls: requiredEnv('PEER_TCP_URLS') } },
  logger: false,
  validator: true,
});

broker.createService({
  name: 'trips',
  actions: {
    activity: {
      params: { $$strict: true, riderId: { type: 'uuid' } },
      handler(ctx) {
        return activities.get(ctx.params.riderId);
      },
    },
  },
});

await broker.start();
closeWithParent(() => broker.stop());
announceReady({ nodeID: broker.nodeID });
