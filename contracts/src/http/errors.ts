import { Type } from 'typebox';

/**
 * The one error body of the public API. Its strings are written by us, never echoed input, so
 * their bounds and patterns describe what the gateway sends (OWASP API4/API8: clients and
 * contract tests can rely on them).
 */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable reason, e.g. USER_NOT_FOUND', pattern: '^[A-Z][A-Z0-9_]*$', maxLength: 64 }),
      message: Type.String({ description: 'For people; the wording may change', maxLength: 2_000 }),
      details: Type.Record(Type.String(), Type.Unknown(), { description: 'Reason-specific facts: the field that failed, a retry delay' }),
      traceId: Type.String({
        description: 'Quote it when reporting a problem (W3C trace id; empty when the request was refused before tracing began)',
        pattern: '^([0-9a-f]{32})?$',
        maxLength: 32,
      }),
    }),
  },
  { $id: 'ErrorResponse' },
);
