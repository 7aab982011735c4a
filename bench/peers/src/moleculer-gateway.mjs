/**
 * Moleculer 0.14 node `gateway` with moleculer-web in front of moleculer-user-service:
 * `GET /v1/me` is authenticated (a signed bearer token, verified once and cached, see
 * bearer.mjs; moleculer-web puts the caller in ctx.meta.user), then calls `users.get` on the
 * other node over the TCP transporter with a 2 s deadline, and answers in our /v1/me shape.
 *
 *   PEER_HTTP_PORT=… PEER_TCP_PORT=… PEER_TCP_URLS=… PEER_JWT_SECRET=… node moleculer-gateway.mjs
 */
import moleculer from 'moleculer';
import ApiGateway from 'moleculer-web';
import { createBearerVerifier } from './bearer.mjs';
import { announceReady, closeWithParent, portFromEnv, requiredEnv } from './child.mjs';

const { ServiceBroker } = moleculer;
const httpPort = portFromEnv('PEER_HTTP_PORT');
const verifyBearer = createBearerVerifier(requiredEnv('PEER_JWT_SECRET'));

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
        const user = await ctx.call('users.get', { userId: ctx.meta.user.userId });
        return { user, partial: [], stale: [] };
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
await broker.waitForServices(['users'], 30_000);
closeWithParent(() => broker.stop());
announceReady({ url: `http://127.0.0.1:${httpPort}` });
