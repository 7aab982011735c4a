import { InvalidArgument, LiveConfig, NotFound, type HotConfigSource } from '@carshare/platform';
import type { FaultRegistry, FaultSetting, FaultSwitch } from '@carshare/resilience';
import { Value } from 'typebox/value';
import { GatewayConfigSchema, type GatewayConfig } from './config.ts';
import type { RateLimits } from './domain/rate-limit-plan.ts';

type FaultSettings = GatewayConfig['faults'];

/** Who a change made through central config is audited as, in the fault log and its lines. */
export const centralConfigActor = 'central config (etcd)';

/**
 * The gateway's hot-reloadable keys from etcd (ADR 0024): `rateLimits` and `faults`, each the
 * JSON of the config file's section of that name and checked with its schema. A deleted key
 * brings back the value the process started with (file, then environment). Returns a stop function.
 */
export function followCentralConfig(source: HotConfigSource, config: GatewayConfig, rateLimits: LiveConfig<RateLimits>, faults: FaultRegistry): () => void {
  const stopRateLimits = source.follow('rateLimits', rateLimits, {
    schema: GatewayConfigSchema.properties.rateLimits,
    fallback: () => config.rateLimits,
  });
  const settings = new LiveConfig<FaultSettings>(config.faults);
  // The whole set of switches, not one key per switch: a value is the complete state, so every
  // instance that applies it ends with the same switches whatever it missed before.
  settings.onChange((next) => applyFaultSettings(faults, next));
  const stopFaults = source.follow('faults', settings, {
    schema: GatewayConfigSchema.properties.faults,
    fallback: () => config.faults,
    check: (next) => faultSettingsProblem(faults, next),
  });
  return () => {
    stopRateLimits();
    stopFaults();
  };
}

/**
 * What `FaultRegistry.set` would refuse, found before any switch moves: a value is applied
 * whole or not at all, never half.
 */
export function faultSettingsProblem(faults: FaultRegistry, settings: FaultSettings): string | undefined {
  const switches = new Map(faults.list().map((fault) => [fault.name, fault]));
  for (const [name, setting] of Object.entries(settings)) {
    const fault = switches.get(name);
    if (!fault) return `no fault switch named ${name}`;
    if ((setting.latencyMs ?? 0) > 0 && !fault.carriesLatency) return `fault ${name} does not carry a latency`;
  }
  return undefined;
}

/** Every switch to its setting in `settings`, and off when absent; only the ones that change are set (and audited). */
export function applyFaultSettings(faults: FaultRegistry, settings: FaultSettings): void {
  for (const fault of faults.list()) {
    const wanted: FaultSetting = settings[fault.name] ?? { percent: 0 };
    const latencyMs = wanted.latencyMs ?? fault.latencyMs;
    if (wanted.percent === fault.percent && (!fault.carriesLatency || latencyMs === fault.latencyMs)) continue;
    faults.set(fault.name, wanted, centralConfigActor);
  }
}

/** How the admin route turns a switch: in this process alone, or for every gateway through etcd. */
export interface FaultSwitchWriter {
  set(name: string, setting: FaultSetting, by: string): Promise<FaultSwitch>;
}

/**
 * With central config on, `PUT /v1/admin/faults/:name` writes the whole set of switches to the
 * `faults` key (compare-and-set, so two operators on two gateways both keep their change), and
 * every gateway applies it from its watch; a switch set only in one gateway's memory would leave
 * the others running a different drill, and be undone by the next central change. This gateway
 * applies it at once too, audited with the operator's name, so the answer shows the new state.
 */
export function centralFaultSwitches(source: HotConfigSource, faults: FaultRegistry): FaultSwitchWriter {
  return {
    async set(name, setting, by) {
      // Refused here as the registry would refuse it, before anything is written for every gateway.
      const fault = faults.list().find((candidate) => candidate.name === name);
      if (!fault) throw NotFound('FAULT_NOT_FOUND', `no fault switch named ${name}`, { name });
      if ((setting.latencyMs ?? 0) > 0 && !fault.carriesLatency) throw InvalidArgument('FAULT_HAS_NO_LATENCY', `fault ${name} does not carry a latency`, { name, latencyMs: setting.latencyMs });
      await source.update('faults', (current) => {
        // The stored set, unless every gateway refused it (then what runs is the truth to build on).
        const settings: FaultSettings = isValidFaultSettings(faults, current) ? { ...current } : runningFaultSettings(faults);
        if (setting.percent === 0) delete settings[name];
        else settings[name] = { percent: setting.percent, ...(setting.latencyMs !== undefined && { latencyMs: setting.latencyMs }) };
        return settings;
      });
      return faults.set(name, setting, by);
    },
  };
}

/** The switches that are on now, as a `faults` value: the base of the first central change. */
function runningFaultSettings(faults: FaultRegistry): FaultSettings {
  const settings: FaultSettings = {};
  for (const fault of faults.list()) if (fault.percent > 0) settings[fault.name] = { percent: fault.percent, ...(fault.carriesLatency && { latencyMs: fault.latencyMs }) };
  return settings;
}

function isValidFaultSettings(faults: FaultRegistry, value: unknown): value is FaultSettings {
  return value !== undefined && Value.Check(GatewayConfigSchema.properties.faults, value) && faultSettingsProblem(faults, value) === undefined;
}
