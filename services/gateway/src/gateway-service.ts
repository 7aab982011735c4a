import type { RiderActivityWire, User, deadLetterRpcMethods, tripRpc, userRpc } from '@carshare/contracts';
import { NotFound, isAppError, type CallContext, type Clock, type RpcClient } from '@carshare/platform';
import type { FaultRegistry, FaultSetting, FaultSwitch } from '@carshare/resilience';
import type { Static } from 'typebox';
import { gatherParts } from './api/gather-parts.ts';
import type { LastGoodCache } from './api/last-good-cache.ts';
import type { FaultSwitchWriter } from './central-config.ts';

/** By service name: every registered service whose contract includes the dead-letter methods. */
export type DeadLetterClients = ReadonlyMap<string, RpcClient<typeof deadLetterRpcMethods>>;

export interface GatewayServicePorts {
  user: RpcClient<typeof userRpc.methods>;
  /** Absent in compositions without the trip service (benches, focused tests): /v1/me then has no reservation or trip part. */
  trip?: RpcClient<typeof tripRpc.methods> | undefined;
  deadLetters: DeadLetterClients;
  faults: FaultRegistry;
  /** With central config on: writes a switch to etcd for every gateway (central-config.ts). */
  faultWriter?: FaultSwitchWriter | undefined;
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
  const { user, trip, deadLetters, faults, clock } = ports;
  const noActivity: Promise<RiderActivityWire> = Promise.resolve({ reservation: null, trip: null });
  return {
    /**
     * The caller's account, active reservation and live trip, asked of the user and trip services
     * at once (one call each: the trip service answers both of its parts together). A part whose
     * service cannot answer is null and named in `partial` (the account may come from the last
     * good answer instead, named in `stale`); the reservation and the trip are never served stale,
     * since an old hold or trip shown as current would mislead more than a gap.
     */
    async me(ctx: CallContext) {
      const userId = ctx.caller?.userId as string;
      const { parts, partial, stale } = await gatherParts(
        {
          user: {
            load: (partCtx) => user.GetUser({ userId }, partCtx),
            budgetMs: ports.partBudgetMs,
            fallback: { cache: ports.lastGoodUsers, key: userId },
          },
          activity: {
            load: (partCtx) => (trip ? trip.GetMyActivity({}, partCtx) : noActivity),
            budgetMs: ports.partBudgetMs,
          },
        },
        ctx,
        clock,
      );
      const activity = parts.activity;
      // One call answers two parts of the document: both are missing when it failed.
      if (!activity) partial.splice(partial.indexOf('activity'), 1, 'reservation', 'trip');
      return { user: parts.user, reservation: activity?.reservation ?? null, trip: activity?.trip ?? null, partial, stale };
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

    /** Through central config when it is on (every gateway turns it), else in this process. */
    async setFaultSwitch(name: string, setting: FaultSetting, ctx: CallContext): Promise<FaultSwitch> {
      const by = ctx.caller?.userId ?? 'unknown';
      return ports.faultWriter ? ports.faultWriter.set(name, setting, by) : faults.set(name, setting, by);
    },
  };
}

export type GatewayService = ReturnType<typeof createGatewayService>;
