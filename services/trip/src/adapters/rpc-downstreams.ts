import type { carRpc, profileRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import { createBackgroundContext, isAppError, type CallContext, type Clock, type RpcClient } from '@carshare/platform';
import type { CarPort, OnBehalf, ProfilePort } from '../ports.ts';

/**
 * Runs a call under the request's context when there is one (its deadline and trace, the rider
 * as caller), else under a context of its own naming the rider (the sweeper acts for them).
 */
async function withContext<T>(observability: Observability, clock: Clock, budgetMs: number, name: string, on: OnBehalf, call: (ctx: CallContext) => Promise<T>): Promise<T> {
  if (on.ctx) return call(on.ctx);
  const ctx = createBackgroundContext(observability, name, { budgetMs, clock, caller: { userId: on.riderId, role: 'rider', plan: 'free' } });
  try {
    return await call(ctx);
  } finally {
    ctx.dispose();
  }
}

export interface DownstreamOptions {
  observability: Observability;
  clock: Clock;
  /** Budget of a call the trip service makes on its own (no request waiting). */
  backgroundBudgetMs: number;
}

export function rpcCarPort(client: RpcClient<typeof carRpc.methods>, options: DownstreamOptions): CarPort {
  const run = <T>(name: string, on: OnBehalf, call: (ctx: CallContext) => Promise<T>) => withContext(options.observability, options.clock, options.backgroundBudgetMs, name, on, call);
  return {
    async claim(input, on) {
      const car = await run('trip: claim car', on, (ctx) => client.Claim(input, ctx));
      return { category: car.category };
    },
    async release(input, on) {
      await run('trip: release car', on, (ctx) => client.Release(input, ctx));
    },
  };
}

export function rpcProfilePort(client: RpcClient<typeof profileRpc.methods>, options: DownstreamOptions): ProfilePort {
  return {
    async isVerified(on) {
      try {
        const answer = await withContext(options.observability, options.clock, options.backgroundBudgetMs, 'trip: is verified', on, (ctx) => client.IsVerified({ userId: on.riderId }, ctx));
        return answer.verified;
      } catch (error) {
        // No profile yet: not verified, which the caller turns into its own clear refusal.
        if (isAppError(error) && error.reason === 'PROFILE_NOT_FOUND') return false;
        throw error;
      }
    },
  };
}
