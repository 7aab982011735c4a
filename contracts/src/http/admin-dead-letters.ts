import { Type, type Static } from 'typebox';
import { DeadLetterPage, DeadLetterRecord } from '../events/dead-letter.ts';
import { defineHttpRoute } from './define-http-route.ts';

/**
 * A service whose consumers keep dead letters (its contract includes the dead-letter RPC
 * methods). The gateway narrows this to the registered ones, so its OpenAPI lists them, and
 * defaults to the first.
 */
export const DeadLetterService = Type.String({ pattern: '^[a-z][a-z0-9]*$', maxLength: 40 });
export type DeadLetterService = Static<typeof DeadLetterService>;

const DeadLetterParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const Located = Type.Object({ service: Type.String() });

export const adminDeadLetterRoutes = {
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/dead-letters',
    summary: 'Events a consumer group gave up on, newest first, by service, group and topic',
    tags: ['admin'],
    access: 'operator',
    querystring: Type.Object(
      {
        service: DeadLetterService,
        group: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
        topic: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
      },
      { additionalProperties: false },
    ),
    successStatus: 200,
    response: Type.Intersect([DeadLetterPage, Located]),
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/dead-letters/:id',
    summary: 'One dead letter, with its event, error, attempts and trace',
    tags: ['admin'],
    access: 'operator',
    params: DeadLetterParams,
    successStatus: 200,
    response: Type.Intersect([DeadLetterRecord, Located]),
  }),
  replay: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/dead-letters/:id/replay',
    summary: 'Deliver the event to its group again (that group only) and drop the dead letter',
    tags: ['admin'],
    access: 'operator',
    params: DeadLetterParams,
    successStatus: 200,
    response: Type.Intersect([DeadLetterRecord, Located]),
  }),
  delete: defineHttpRoute({
    method: 'DELETE',
    url: '/v1/admin/dead-letters/:id',
    summary: 'Drop a dead letter for good',
    tags: ['admin'],
    access: 'operator',
    params: DeadLetterParams,
    successStatus: 204,
    response: Type.Null(),
  }),
} as const;
