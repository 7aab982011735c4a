import { Type } from 'typebox';
import { DeadLetterPage, DeadLetterQuery, DeadLetterRecord } from '../events/dead-letter.ts';

const DeadLetterId = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

/**
 * Every service that consumes events offers these four methods, so the gateway's
 * /v1/admin/dead-letters works the same for each. Operators only.
 */
export const deadLetterRpcMethods = {
  ListDeadLetters: {
    summary: 'Dead letters of this service, newest first, by group and topic',
    input: DeadLetterQuery,
    output: DeadLetterPage,
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'INVALID_CURSOR', 'INVALID_TOPIC'],
  },
  GetDeadLetter: {
    summary: 'One dead letter',
    input: DeadLetterId,
    output: DeadLetterRecord,
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'DEAD_LETTER_NOT_FOUND'],
  },
  ReplayDeadLetter: {
    summary: 'Deliver the event to its consumer group again, then forget the dead letter',
    input: DeadLetterId,
    output: DeadLetterRecord,
    idempotent: false,
    errors: ['OPERATOR_ONLY', 'DEAD_LETTER_NOT_FOUND', 'EVENT_BUS_UNAVAILABLE'],
  },
  DeleteDeadLetter: {
    summary: 'Drop a dead letter for good',
    input: DeadLetterId,
    output: Type.Object({}),
    idempotent: true,
    errors: ['OPERATOR_ONLY', 'DEAD_LETTER_NOT_FOUND'],
  },
} as const;
