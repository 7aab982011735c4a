import { NotFound, Unauthenticated, type Caller } from '@carshare/platform';
import { mayRead, newItem, type Item } from './domain/item.ts';
import type { AnalyticsPorts, ItemPage } from './ports.ts';

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  return caller;
}

/** The analytics service's use cases: each takes what the caller sent and who the caller is. */
export function createAnalyticsService(ports: AnalyticsPorts) {
  const { items, clock, ids } = ports;
  return {
    async createItem(input: { name: string }, caller: Caller | undefined): Promise<Item> {
      const owner = requireCaller(caller);
      const item = newItem({ id: ids.next(), ownerId: owner.userId, name: input.name, now: clock.now() });
      await items.insert(item);
      return item;
    },

    async getItem(input: { id: string }, caller: Caller | undefined): Promise<Item> {
      const reader = requireCaller(caller);
      const item = await items.find(input.id);
      // Someone else's item is "not found", not "forbidden": its existence is not theirs to learn.
      if (!item || !mayRead(item, reader)) throw NotFound('ITEM_NOT_FOUND', `no item ${input.id}`, { id: input.id });
      return item;
    },

    async listItems(input: { limit: number; cursor?: string | undefined }, caller: Caller | undefined): Promise<ItemPage> {
      const owner = requireCaller(caller);
      return items.listByOwner(owner.userId, { limit: input.limit, cursor: input.cursor });
    },
  };
}

export type AnalyticsService = ReturnType<typeof createAnalyticsService>;
