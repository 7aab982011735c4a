import { Type, type Static } from 'typebox';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { defineRpcService } from './define-rpc-service.ts';
import { Cursor } from './user.ts';

const strict = { additionalProperties: false } as const;

/**
 * The business figures the analytics read model keeps, each bucketed per hour and per day by the
 * time the event occurred. `count` figures count events; `sum` figures add an amount (cents,
 * milliseconds); `level` figures are running totals (+1 / −1), answered as the level at the end
 * of each bucket.
 */
export const StatMetric = Type.Union([
  Type.Literal('trips_started'),
  Type.Literal('trips_finished'),
  Type.Literal('active_trips'),
  Type.Literal('revenue_cents'),
  Type.Literal('refunds_cents'),
  Type.Literal('registrations'),
  Type.Literal('verification_approvals'),
  Type.Literal('verification_rejections'),
  Type.Literal('review_duration_ms'),
  Type.Literal('reservations'),
  Type.Literal('failed_trip_starts'),
  Type.Literal('unlock_attempts'),
  Type.Literal('cars_offline'),
  /** Prices of finished trips (at the finish), by the car's category, the end zone and currency. */
  Type.Literal('trip_revenue_cents'),
  /**
   * Car time in trips, split over the buckets each trip spans (`count`: trips that overlap the
   * bucket): divided by `fleet_size` × the bucket's length, the fleet's utilisation.
   */
  Type.Literal('trip_time_ms'),
  /** Cars in the fleet (created), by category. */
  Type.Literal('fleet_size'),
  /**
   * Search-to-reservation conversion: `count` riders who searched in the bucket, `sum` those of
   * them who reserved within the conversion window after a search in it (sum / count is the rate).
   */
  Type.Literal('search_conversion'),
]);
export type StatMetric = Static<typeof StatMetric>;

export const StatBucket = Type.Union([Type.Literal('hour'), Type.Literal('day')]);
export type StatBucket = Static<typeof StatBucket>;

/** What a figure may be broken down by; each metric takes only the ones its events carry. */
export const StatDimension = Type.Union([
  Type.Literal('category'),
  Type.Literal('zone'),
  Type.Literal('currency'),
  Type.Literal('role'),
  Type.Literal('by'),
  Type.Literal('reason'),
  Type.Literal('outcome'),
  Type.Literal('result'),
]);
export type StatDimension = Static<typeof StatDimension>;

export const StatsQuery = Type.Object(
  {
    metric: StatMetric,
    bucket: StatBucket,
    from: Type.String({ format: 'date-time', description: 'inclusive; rounded down to the bucket' }),
    to: Type.String({ format: 'date-time', description: 'exclusive; at most 31 days after `from` by hour, 400 by day' }),
    by: Type.Optional(StatDimension),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
    cursor: Type.Optional(Cursor),
  },
  strict,
);
export type StatsQuery = Static<typeof StatsQuery>;

export const StatPoint = Type.Object({
  start: Type.String({ format: 'date-time', description: 'the bucket start (UTC)' }),
  /** The dimension's value (`compact`, `timeout`, …); null for the total. */
  key: Type.Union([Type.String(), Type.Null()]),
  count: Type.Integer(),
  sum: Type.Integer(),
  /** Level figures only: the running total at the end of the bucket. */
  level: Type.Union([Type.Integer(), Type.Null()]),
});
export type StatPoint = Static<typeof StatPoint>;

export const StatsPage = Type.Object({
  metric: StatMetric,
  bucket: StatBucket,
  by: Type.Union([StatDimension, Type.Null()]),
  unit: Type.Union([Type.Literal('count'), Type.Literal('cents'), Type.Literal('ms')]),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  /** Buckets with events only, oldest first (by key within a bucket). */
  points: Type.Array(StatPoint),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type StatsPage = Static<typeof StatsPage>;

/** The analytics service's RPC contract: the operator's figures, read from its event-fed views. */
export const analyticsRpc = defineRpcService('analytics', {
  QueryStats: {
    summary: 'A business figure per hour or day over a bounded range, optionally by a dimension: operators',
    input: StatsQuery,
    output: StatsPage,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'OPERATOR_ONLY', 'INVALID_RANGE', 'INVALID_DIMENSION', 'INVALID_CURSOR'],
  },
  ...deadLetterRpcMethods,
});
