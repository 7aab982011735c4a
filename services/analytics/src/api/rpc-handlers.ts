import type { analyticsRpc, deadLetterRpcMethods } from '@carshare/contracts';
import type { RpcHandlers } from '@carshare/platform';
import type { AnalyticsService } from '../analytics-service.ts';

type AnalyticsMethods = Omit<typeof analyticsRpc.methods, keyof typeof deadLetterRpcMethods>;

/** Parse → one use case → map; validation and errors are the RPC server's. */
export function analyticsRpcHandlers(service: AnalyticsService): RpcHandlers<AnalyticsMethods> {
  return {
    QueryStats: (input, ctx) => service.queryStats(input, ctx.caller),
  };
}
