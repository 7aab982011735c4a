import type { User, deadLetterRpcMethods, userRpc } from '@carshare/contracts';
import { NotFound, isAppError, type CallContext, type Clock, type RpcClient } from '@carshare/platform';
import type { FaultRegistry, FaultSetting, FaultSwitch } from '@carshare/resilience';
import type { Static } from 'typebox';
import { gatherParts } from './api/gather-parts.ts';
import type { LastGoodCache } from './api/last-good-cache.ts';

/** By service name: every registered service whose contract includes the dead-letter methods. */
export type DeadLetterClients = ReadonlyMap<string, RpcClient<typeof deadLetterRpcMethods>>;

export interface GatewayServicePorts {
  user: RpcClient<typeof userRpc.methods>;
  deadLetters: DeadLetterClients;
  faults: FaultRegistry;
  lastGoodUsers: LastGoodCache<Static<typeof User>>;
  /** Budget of each part of a gathered answer such as /v1/me. */
  partBudgetMs: number;
  clock: Clock;
}

/**
 * What the gateway does beyond passing one call through: gathering answers from several
 * services, finding where a dead letter lives, the fault switches. Routes that map to a single
 * RPC call it directly (api/public-handlers.ts).
 */
export function createGatewayService(ports: GatewayServicePorts) {
  const { user, deadLetters, faults, clock } = ports;
  return {
    /** The caller's own account, marked partial or stale when the user service cannot answer live. */
    async me(ctx: CallContext) {
      const userId = ctx.caller?.userId as string;
      const { parts, partial, stale } = await gatherParts(
        {
          user: {
            load: (partCtx) => user.GetUser({ userId }, partCtx),
            budgetMs: ports.partBudgetMs,
            fallback: { cache: ports.lastGoodUsers, key: userId },
          },
        },
        ctx,
        clock,
      );
      return { user: parts.user, partial, stale };
    },

    deadLetterClient(service: string): RpcClient<typeof deadLetterRpcMethods> {
      const client = deadLetters.get(service);
      if (!client) throw NotFound('SERVICE_NOT_FOUND', `${service} keeps no dead letters`, { service, services: [...deadLetters.keys()] });
      return client;
    },

    /**
     * Dead-letter ids are UUIDv7, unique across services, so a single id finds its service by
     * asking each in turn; only "not found" moves on, any other failure is the answer.
     */
    async locateDeadLetter(id: string, ctx: CallContext): Promise<{ service: string; client: RpcClient<typeof deadLetterRpcMethods> }> {
      for (const [service, client] of deadLetters) {
        try {
          await client.GetDeadLetter({ id }, ctx);
          return { service, client };
        } catch (error) {
          if (!(isAppError(error) && error.reason === 'DEAD_LETTER_NOT_FOUND')) throw error;
        }
      }
      throw NotFound('DEAD_LETTER_NOT_FOUND', `no dead letter ${id}`, { id });
    },

    faultSwitches(): { switches: FaultSwitch[]; changes: ReturnType<FaultRegistry['auditLog']> } {
      return { switches: faults.list(), changes: faults.auditLog() };
    },

    setFaultSwitch(name: string, setting: FaultSetting, ctx: CallContext): FaultSwitch {
      return faults.set(name, setting, ctx.caller?.userId ?? 'unknown');
    },
  };
}

export type GatewayService = ReturnType<typeof createGatewayService>;
