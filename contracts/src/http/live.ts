import { Type, type Static } from 'typebox';
import { CarState } from '../rpc/car.ts';

/**
 * The live feed, `GET /v1/live` upgraded to a WebSocket. Authentication: offer the subprotocols
 * `carshare.live.v1` and `bearer.<access token>` (a browser cannot set an Authorization header on
 * a WebSocket, and a token in the query string ends up in access logs, proxies and history); the
 * server answers `carshare.live.v1`. Non-browser clients may send `Authorization: Bearer` instead.
 *
 * After connecting, the client says what to watch; the server answers a snapshot, then changes
 * (coalesced per car, at most once per interval). A reconnect starts over with a snapshot.
 */
export const liveFeed = {
  url: '/v1/live',
  subprotocol: 'carshare.live.v1',
  tokenSubprotocolPrefix: 'bearer.',
  /** Close codes besides the standard ones. */
  closeCodes: { tooSlow: 4008, badMessage: 4000, tooManyConnections: 4029, unauthenticated: 4001 },
} as const;

const strict = { additionalProperties: false } as const;

/** Riders: available cars within a radius of a point. Operators may omit the area: every car. */
export const LiveWatch = Type.Object(
  {
    type: Type.Literal('watch'),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lng: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    radiusM: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  strict,
);
export type LiveWatch = Static<typeof LiveWatch>;

export const LiveCar = Type.Object({
  id: Type.String({ format: 'uuid' }),
  lat: Type.Number(),
  lng: Type.Number(),
  headingDeg: Type.Number(),
  speedKph: Type.Number(),
  energyPct: Type.Number(),
  /** Riders only ever see `available`. */
  state: CarState,
  category: Type.Optional(Type.String()),
  /** When the car was last heard of, epoch ms. */
  ts: Type.Integer(),
});
export type LiveCar = Static<typeof LiveCar>;

export const LiveServerMessage = Type.Union([
  Type.Object({ type: Type.Literal('snapshot'), cars: Type.Array(LiveCar) }),
  Type.Object({ type: Type.Literal('changes'), cars: Type.Array(LiveCar), gone: Type.Array(Type.String()) }),
  Type.Object({ type: Type.Literal('error'), error: Type.Object({ code: Type.String(), message: Type.String() }) }),
]);
export type LiveServerMessage = Static<typeof LiveServerMessage>;
