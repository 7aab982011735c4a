import type { carRpc, paymentRpc, profileRpc, userRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import { createBackgroundContext, isAppError, type CallContext, type Clock, type RpcClient } from '@carshare/platform';
import type { RoutePoint } from '../domain/route.ts';
import type { AccountPort, CarPort, OnBehalf, PaymentPort, ProfilePort } from '../ports.ts';

const maxTelemetryPages = 100;

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
    async unlock(input, on) {
      await run('trip: unlock car', on, (ctx) => client.Unlock(input, ctx));
    },
    async lock(input, on) {
      await run('trip: lock car', on, (ctx) => client.Lock(input, ctx));
    },
    async getCar(carId, on) {
      const car = await run('trip: get car', on, (ctx) => client.GetCar({ carId }, ctx));
      return { position: car.position ?? undefined, energyPct: car.energyPct, state: car.state, reservationId: car.reservationId ?? undefined };
    },
    async telemetrySince(carId, since, on) {
      const points: RoutePoint[] = [];
      let cursor: string | undefined;
      // A day of reports every few seconds is tens of thousands of points: bounded, so a runaway
      // device cannot make a finish read forever (the distance then counts what was read).
      for (let page = 0; page < maxTelemetryPages; page += 1) {
        const answer = await run('trip: telemetry since', on, (ctx) => client.TelemetrySince({ carId, since: new Date(since).toISOString(), limit: 1000, ...(cursor !== undefined && { cursor }) }, ctx));
        for (const point of answer.items) points.push({ at: Date.parse(point.ts), lat: point.lat, lng: point.lng });
        if (answer.nextCursor === null) break;
        cursor = answer.nextCursor;
      }
      return points;
    },
  };
}

export function rpcPaymentPort(client: RpcClient<typeof paymentRpc.methods>, options: DownstreamOptions): PaymentPort {
  const run = <T>(name: string, on: OnBehalf, call: (ctx: CallContext) => Promise<T>) => withContext(options.observability, options.clock, options.backgroundBudgetMs, name, on, call);
  return {
    async authorize(input, on) {
      const payment = await run('trip: authorise deposit', on, (ctx) => client.Authorize(input, ctx));
      return { paymentId: payment.id };
    },
    async void(paymentId, on) {
      await run('trip: void deposit', on, (ctx) => client.Void({ paymentId }, ctx));
    },
    async capture(paymentId, amountCents, on) {
      const payment = await run('trip: capture', on, (ctx) => client.Capture({ paymentId, amountCents }, ctx));
      // Captured, or already refunded afterwards: the charge happened either way.
      return { status: ['captured', 'partially_refunded', 'refunded'].includes(payment.status) ? 'captured' : 'pending' };
    },
    async chargeFee(input, on) {
      const fee = await run('trip: charge fee', on, (ctx) => client.ChargeFee(input, ctx));
      return { status: fee.status };
    },
    async findByReference(reference, on) {
      try {
        const payment = await run('trip: find payment', on, (ctx) => client.GetPaymentByReference({ reference }, ctx));
        return { paymentId: payment.id, status: payment.status };
      } catch (error) {
        if (isAppError(error) && error.reason === 'PAYMENT_NOT_FOUND') return undefined;
        throw error;
      }
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

export function rpcAccountPort(client: RpcClient<typeof userRpc.methods>, options: DownstreamOptions): AccountPort {
  return {
    async isEmailVerified(on) {
      // Asked as the rider: reading one's own account needs no staff rights.
      const user = await withContext(options.observability, options.clock, options.backgroundBudgetMs, 'trip: is email verified', on, (ctx) => client.GetUser({ userId: on.riderId }, ctx));
      return user.emailVerified;
    },
  };
}
