import type { analyticsRpc } from '@carshare/contracts';
import type { RpcHandlers } from '@carshare/platform';
import type { Item } from '../domain/item.ts';
import type { AnalyticsService } from '../analytics-service.ts';

function toWireItem(item: Item) {
  return { id: item.id, ownerId: item.ownerId, name: item.name, createdAt: new Date(item.createdAt).toISOString() };
}

/** Parse → one use case → map; validation and errors are the RPC server's. */
export function analyticsRpcHandlers(service: AnalyticsService): RpcHandlers<typeof analyticsRpc.methods> {
  return {
    CreateItem: async (input, ctx) => toWireItem(await service.createItem(input, ctx.caller)),
    GetItem: async (input, ctx) => toWireItem(await service.getItem(input, ctx.caller)),
    ListItems: async (input, ctx) => {
      const page = await service.listItems(input, ctx.caller);
      return { items: page.items.map(toWireItem), nextCursor: page.nextCursor ?? null };
    },
  };
}
