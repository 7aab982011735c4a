/**
 * Moleculer 0.14 node `gateway` with moleculer-web in front of moleculer-user-service:
 * `GET /v1/me` is authenticated (a signed bearer token, verified once and cached, see
 * bearer.mjs; moleculer-web puts the caller in ctx.meta.user), then calls `users.get` on the
 * other node over the TCP transporter with a 2 s deadline, and answers in our /v1/me shape.
 *
 * With PEER_COMPOSED=1 it composes /v1/me as ours does (DOMAIN: the account plus the active
 * reservation and trip): `users.get` and moleculer-trip-service's `trips.activity` side by side,
 * a part that fails named in `partial` (ours: gatherParts).
 *
 *   PEER_HTTP_PORT=… PEER_TCP_PORT=… PEER_TCP_URLS=… PEER_JWT_SECRET=… [PEER_COMPOSED=1] node moleculer-gateway.mjs
 */
import moleculer from 'moleculer';
import process from 'node:process';
import ApiGateway from 'moleculer-web';
import { createBearerVerifier } from './bearer.mjs';
import { announceReady, closeWithParent, portFromEnv, requiredEnv } from './child.mjs';

const { ServiceBroker } = moleculer;
const httpPort = portFromEnv('PEER_HTTP_PORT');
const verifyBearer = createBearerVerifier(requiredEnv('PEER_JWT_SECRET'));
const composed = process.env.PEER_COMPOSED === '1';

const broker = new ServiceBroker({
  nodeID: 'gateway',
  transporter: { type: 'TCP', options: { udpDiscovery: false, port: portFromEnv('PEER_TCP_PORT'), urls: requiredEnv('PEER_TCP_URLS') } },
  logger: false,
  requestTimeout: 2_000,
});

broker.createService({
  name: 'api',
  mixins: [ApiGateway],
  settings: {
    port: httpPort,
    ip: '127.0.0.1',
    routes: [
      {
        path: '/v1',
        authentication: true,
        mappingPolicy: 'restrict',
        aliases: { 'GET me': 'api.me' },
        bodyParsers: { json: true },
        logging: false,
      },
    ],
  },
  actions: {
    me: {
      async handler(ctx) {
        const userId = ctx.meta.user.userId;
        if (!composed) return { user: await ctx.call('users.get', { userId }), partial: [], stale: [] };
        const [userPart, activityPart] = await Promise.allSettled([ctx.call('users.get', { userId }), ctx.call('trips.activity', { riderId: userId })]);
        if (userPart.status === 'rejected' && activityPart.status === 'rejected') throw userPart.reason;
        const partial = [];
        if (userPart.status === 'rejected') partial.push('user');
        if (activityPart.status === 'rejected') partial.push('reservation', 'trip');
        const found = activityPart.status === 'fulfilled' ? activityPart.value : undefined;
        return { user: userPart.status === 'fulfilled' ? userPart.value : null, reservation: found?.reservation ?? null, trip: found?.trip ?? null, partial, stale: [] };
      },
    },
  },
  methods: {
    authenticate(_ctx, _route, request) {
      const caller = verifyBearer(request.headers.authorization);
      if (!caller) throw new ApiGateway.Errors.UnAuthorizedError(ApiGateway.Errors.ERR_INVALID_TOKEN);
      return caller;
    },
  },
});

await broker.start();
await broker.waitForServices(composed ? ['users', 'trips'] : ['users'], 30_000);
closeWithParent(() => broker.stop());
announceReady({ url: `http://127.0.0.1:${httpPort}` });
