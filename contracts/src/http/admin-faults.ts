import { Type } from 'typebox';
import { defineHttpRoute } from './define-http-route.ts';

export const FaultSwitch = Type.Object({
  name: Type.String({ description: 'e.g. rpc.error:user, rpc.latency:user' }),
  description: Type.String(),
  carriesLatency: Type.Boolean(),
  percent: Type.Number({ minimum: 0, maximum: 100 }),
  latencyMs: Type.Integer({ minimum: 0 }),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
});

const FaultLevel = Type.Object({ percent: Type.Number(), latencyMs: Type.Integer() });

export const FaultChange = Type.Object({
  at: Type.String({ format: 'date-time' }),
  by: Type.String(),
  name: Type.String(),
  old: FaultLevel,
  new: FaultLevel,
});

export const adminFaultRoutes = {
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/faults',
    summary: 'Fault switches of this gateway instance and the latest changes to them',
    tags: ['admin'],
    access: 'operator',
    successStatus: 200,
    response: Type.Object({ items: Type.Array(FaultSwitch), recentChanges: Type.Array(FaultChange) }),
  }),
  set: defineHttpRoute({
    method: 'PUT',
    url: '/v1/admin/faults/:name',
    summary: 'Turn a fault switch to a percentage of calls (0 turns it off); audited',
    tags: ['admin'],
    access: 'operator',
    params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false }),
    body: Type.Object(
      { percent: Type.Number({ minimum: 0, maximum: 100 }), latencyMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })) },
      { additionalProperties: false },
    ),
    successStatus: 200,
    response: FaultSwitch,
  }),
} as const;
