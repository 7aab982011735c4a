import { Type, type Static } from 'typebox';
import { EventEnvelope } from './envelope.ts';

/**
 * An event a consumer group gave up on, as operators see it (gateway /v1/admin/dead-letters and
 * each service's dead-letter RPCs). `id` is the record's own id, not the event's.
 */
export const DeadLetterRecord = Type.Object({
  id: Type.String({ format: 'uuid' }),
  group: Type.String(),
  event: EventEnvelope,
  error: Type.Object({
    name: Type.String(),
    message: Type.String(),
    code: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    stack: Type.Optional(Type.String()),
  }),
  attempts: Type.Integer({ minimum: 1 }),
  traceparent: Type.Optional(Type.String()),
  failedAt: Type.String({ format: 'date-time' }),
});
export type DeadLetterRecord = Static<typeof DeadLetterRecord>;

export const DeadLetterQuery = Type.Object(
  {
    group: Type.Optional(Type.String({ maxLength: 100 })),
    /** An event type or topic pattern: `trip.finished`, `trip.*`, `car.#`. */
    topic: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  },
  { additionalProperties: false },
);
export type DeadLetterQuery = Static<typeof DeadLetterQuery>;

export const DeadLetterPage = Type.Object({ items: Type.Array(DeadLetterRecord), nextCursor: Type.Optional(Type.String()) });
export type DeadLetterPage = Static<typeof DeadLetterPage>;
