import { Type } from 'typebox';
import { defineRpcService } from './define-rpc-service.ts';

const strict = { additionalProperties: false } as const;

export const AnalyticsItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  ownerId: Type.String({ format: 'uuid' }),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const AnalyticsItemPage = Type.Object({ items: Type.Array(AnalyticsItem), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** The analytics service's RPC contract: what callers may ask of it, and how it may fail. */
export const analyticsRpc = defineRpcService('analytics', {
  CreateItem: {
    summary: 'Create an item owned by the caller',
    input: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, strict),
    output: AnalyticsItem,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'INVALID_ITEM_NAME'],
  },
  GetItem: {
    summary: 'One item: its owner or an operator',
    input: Type.Object({ id: Type.String({ format: 'uuid' }) }, strict),
    output: AnalyticsItem,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'ITEM_NOT_FOUND'],
  },
  ListItems: {
    summary: "The caller's items, newest first",
    input: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) }, strict),
    output: AnalyticsItemPage,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'INVALID_CURSOR'],
  },
});
