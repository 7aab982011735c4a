import { Type } from 'typebox';

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable machine-readable reason, e.g. USER_NOT_FOUND' }),
      message: Type.String(),
      details: Type.Record(Type.String(), Type.Unknown()),
      traceId: Type.String({ description: 'Quote it when reporting a problem' }),
    }),
  },
  { $id: 'ErrorResponse' },
);
