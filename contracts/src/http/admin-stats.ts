import { Type } from 'typebox';
import { StatBucket, StatDimension, StatMetric, StatsPage } from '../rpc/analytics.ts';
import { Cursor } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

/** The CSV form of a stats page: one row per point, the next page in a `Link: <…>; rel="next"` header. */
export const statsCsvColumns = ['start', 'key', 'count', 'sum', 'level'] as const;

export const adminStatsRoutes = {
  query: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/stats',
    summary: 'A business figure per hour or day (trips, revenue, utilisation, search conversion, verification, unlocks, fleet), JSON or CSV (`Accept: text/csv` or `format=csv`)',
    tags: ['admin'],
    access: 'operator',
    querystring: Type.Object(
      {
        metric: StatMetric,
        bucket: StatBucket,
        from: Type.String({ format: 'date-time' }),
        to: Type.String({ format: 'date-time' }),
        by: Type.Optional(StatDimension),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
        cursor: Type.Optional(Cursor),
        format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')])),
      },
      { additionalProperties: false },
    ),
    successStatus: 200,
    response: StatsPage,
  }),
} as const;
