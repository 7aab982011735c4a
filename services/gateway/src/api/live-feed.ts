import websocket, { type WebSocket } from '@fastify/websocket';
import { LiveWatch, liveFeed, type carRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import { Unauthenticated, bearerToken, systemClock, systemScheduler, type Caller, type Clock, type HttpServer, type RpcClient, type Scheduler } from '@carshare/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Compile } from 'typebox/compile';
import { BroadcastFleetUpdates, type BroadcastEventSource } from '../live/broadcast-fleet-updates.ts';
import { LiveFeedFull, LiveHub, type LiveHubSettings } from '../live/live-hub.ts';
import type { LiveSession } from '../live/live-session.ts';
import { viewFromWatch } from '../live/live-view.ts';
import { RpcFleetSnapshots } from '../live/rpc-fleet-snapshots.ts';
import type { PublicRouteDeps } from './public-route.ts';

const watchCheck = Compile(LiveWatch);

export interface LiveFeedDeps {
  car: RpcClient<typeof carRpc.methods>;
  observability: Observability;
  /** The bus, when the gateway has one: live changes then arrive as events instead of by re-reading. */
  bus?: BroadcastEventSource | undefined;
  clock?: Clock;
  scheduler?: Scheduler;
  settings?: Partial<LiveHubSettings & { minWatchIntervalMs: number }>;
}

/** The bus among a module's deps, if the composition gave it one (the gateway's descriptor decides). */
export function broadcastSourceOf(deps: object): BroadcastEventSource | undefined {
  const bus = (deps as { bus?: Partial<BroadcastEventSource> }).bus;
  return typeof bus?.subscribeBroadcast === 'function' ? (bus as BroadcastEventSource) : undefined;
}

/**
 * The access token of a WebSocket upgrade: from the `bearer.<token>` subprotocol (browsers cannot
 * set headers on a WebSocket, and a token in the URL is written to access logs), else from an
 * Authorization header (other clients).
 */
export function liveFeedToken(request: FastifyRequest): string | undefined {
  const offered = request.headers['sec-websocket-protocol'];
  if (typeof offered === 'string') {
    for (const protocol of offered.split(',')) {
      const trimmed = protocol.trim();
      if (trimmed.startsWith(liveFeed.tokenSubprotocolPrefix)) return trimmed.slice(liveFeed.tokenSubprotocolPrefix.length) || undefined;
    }
  }
  return bearerToken(request.headers.authorization);
}

/**
 * `GET /v1/live`: a WebSocket of the fleet for riders (available cars in their area) and staff
 * (every car and its state). Authenticated before the upgrade; the per-IP and per-user limits
 * count the connection. Returns the hub (tests, metrics).
 */
export function registerLiveFeed(app: HttpServer, routeDeps: PublicRouteDeps, deps: LiveFeedDeps): LiveHub {
  const logger = deps.observability.logger;
  const clock = deps.clock ?? systemClock;
  const minWatchIntervalMs = deps.settings?.minWatchIntervalMs ?? 1_000;
  const hub = new LiveHub({
    snapshots: new RpcFleetSnapshots(deps.car, deps.observability),
    updates: deps.bus ? new BroadcastFleetUpdates(deps.bus, logger) : undefined,
    scheduler: deps.scheduler ?? systemScheduler,
    logger,
    settings: deps.settings,
  });
  app.addHook('onReady', () => hub.start());
  app.addHook('preClose', () => hub.stop());

  void app.register(async (scope) => {
    await scope.register(websocket, {
      options: {
        maxPayload: 4096,
        handleProtocols: (protocols: Set<string>) => (protocols.has(liveFeed.subprotocol) ? liveFeed.subprotocol : false),
      },
    });
    scope.route({
      method: 'GET',
      url: liveFeed.url,
      websocket: true,
      // Who may connect is settled before the upgrade: a refused client gets a plain HTTP 401.
      onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
        const token = liveFeedToken(request);
        if (!token) {
          await routeDeps.rateLimits.beforeBody(reply, undefined, { ip: request.ip, user: undefined });
          throw Unauthenticated('AUTHENTICATION_REQUIRED', `offer the subprotocols ${liveFeed.subprotocol} and ${liveFeed.tokenSubprotocolPrefix}<access token>`);
        }
        let caller: Caller;
        try {
          caller = await routeDeps.verifier.verify(token);
        } catch (error) {
          await routeDeps.rateLimits.beforeBody(reply, undefined, { ip: request.ip, user: undefined });
          throw error;
        }
        request.ctx.caller = caller;
        await routeDeps.rateLimits.beforeBody(reply, undefined, { ip: request.ip, user: { id: caller.userId, plan: caller.plan } });
      },
      // With `websocket: true` the handler receives the socket after the upgrade.
      handler: ((socket: WebSocket, request: FastifyRequest) => {
        const caller = request.ctx.caller as Caller;
        let session: LiveSession;
        try {
          session = hub.open(socket, caller);
        } catch (error) {
          if (!(error instanceof LiveFeedFull)) throw error;
          socket.send(JSON.stringify({ type: 'error', error: { code: error.code, message: error.message } }));
          socket.close(liveFeed.closeCodes.tooManyConnections, error.code);
          return;
        }
        let lastWatchAt = -Infinity;
        socket.on('close', () => hub.closed(session));
        socket.on('message', (data: Buffer, isBinary: boolean) => {
          let message: unknown;
          try {
            message = isBinary ? undefined : JSON.parse(data.toString('utf8'));
          } catch {
            message = undefined;
          }
          if (!watchCheck.Check(message)) {
            session.fail('BAD_MESSAGE', 'send {"type":"watch","lat":…,"lng":…,"radiusM":…} as text', liveFeed.closeCodes.badMessage);
            return;
          }
          const now = clock.now();
          if (now - lastWatchAt < minWatchIntervalMs) {
            session.fail('TOO_MANY_WATCHES', `at most one watch per ${minWatchIntervalMs} ms`, liveFeed.closeCodes.badMessage);
            return;
          }
          lastWatchAt = now;
          const view = viewFromWatch(message, caller.role !== 'rider');
          if ('code' in view) {
            session.fail(view.code, view.message, liveFeed.closeCodes.badMessage);
            return;
          }
          hub.watch(session, view).catch((error: unknown) => {
            logger.warn({ err: error }, 'live feed: no snapshot for a new view');
            session.fail('SNAPSHOT_UNAVAILABLE', 'the fleet cannot be read right now; reconnect in a moment', 1011);
          });
        });
      }) as never,
    });
  });
  return hub;
}
