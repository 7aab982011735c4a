import { LiveConfig, type HotConfigSource } from '@carshare/platform';
import type { FaultRegistry, FaultSetting } from '@carshare/resilience';
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
