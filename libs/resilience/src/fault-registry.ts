import { type Clock, InvalidArgument, NotFound, silentLogger, type StructuredLogger, systemClock } from '@carshare/platform';
import type { Registry } from 'prom-client';
import { resilienceMetrics } from './resilience-metrics.ts';
import type { ResilienceMetrics } from './resilience-metrics.ts';

export interface FaultDefinition {
  name: string;
  description: string;
  /** The fault delays instead of failing, and carries a latency in ms. */
  carriesLatency?: boolean;
}

export interface FaultSetting {
  /** Share of requests hit, 0–100; 0 is off. */
  percent: number;
  latencyMs?: number;
}

export interface FaultSwitch {
  name: string;
  description: string;
  carriesLatency: boolean;
  percent: number;
  latencyMs: number;
  updatedAt: number | undefined;
  updatedBy: string | undefined;
}

export interface FaultChange {
  at: number;
  by: string;
  name: string;
  old: { percent: number; latencyMs: number };
  new: { percent: number; latencyMs: number };
}

export interface FaultRegistryDeps {
  /** Uniform in [0, 1); tests pass a fixed sequence. */
  random?: () => number;
  clock?: Clock;
  logger?: StructuredLogger;
  registry?: Registry;
  /** Changes kept for the admin view; older ones are dropped. */
  auditLimit?: number;
}

export function rpcLatencyFault(service: string): string {
  return `rpc.latency:${service}`;
}

export function rpcErrorFault(service: string): string {
  return `rpc.error:${service}`;
}

interface MutableSwitch {
  definition: Required<FaultDefinition>;
  percent: number;
  latencyMs: number;
  updatedAt: number | undefined;
  updatedBy: string | undefined;
}

/**
 * Named fault switches for chaos drills and demos: modules register what they can break, an
 * operator turns a switch to some percentage, and the request path asks `shouldFail` or
 * `latencyFor` on every request. Everything is off until someone turns it on, and every change
 * is kept (who, when, old, new) and logged, because "why is car failing 20 %?" must have an answer.
 */
export class FaultRegistry {
  readonly #switches = new Map<string, MutableSwitch>();
  readonly #audit: FaultChange[] = [];
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #logger: StructuredLogger;
  readonly #metrics: ResilienceMetrics;
  readonly #auditLimit: number;

  constructor(deps: FaultRegistryDeps = {}) {
    this.#random = deps.random ?? Math.random;
    this.#clock = deps.clock ?? systemClock;
    this.#logger = deps.logger ?? silentLogger;
    this.#metrics = resilienceMetrics(deps.registry);
    this.#auditLimit = deps.auditLimit ?? 200;
  }

  /**
   * Idempotent for the same definition: a module composed twice (tests, embedded restarts)
   * registers its switches twice. A different definition under the same name is a bug.
   */
  register(definition: FaultDefinition): void {
    const full = { carriesLatency: false, ...definition };
    const existing = this.#switches.get(full.name);
    if (existing) {
      const same = existing.definition.description === full.description && existing.definition.carriesLatency === full.carriesLatency;
      if (!same) throw new Error(`fault ${full.name} is already registered with a different definition`);
      return;
    }
    this.#switches.set(full.name, { definition: full, percent: 0, latencyMs: 0, updatedAt: undefined, updatedBy: undefined });
    this.#metrics.faultSwitchPercent.set({ fault: full.name }, 0);
  }

  /** Registers the two switches every RPC client offers: `rpc.latency:<service>` and `rpc.error:<service>`. */
  registerRpcFaults(service: string): void {
    this.register({ name: rpcLatencyFault(service), description: `delay calls to ${service}`, carriesLatency: true });
    this.register({ name: rpcErrorFault(service), description: `fail calls to ${service} with UNAVAILABLE` });
  }

  /** True for `percent` % of calls. Unknown names are off: the read path never throws. */
  shouldFail(name: string): boolean {
    const fault = this.#switches.get(name);
    if (fault === undefined || fault.percent === 0) return false;
    return fault.percent >= 100 || this.#random() * 100 < fault.percent;
  }

  /** The switch's latency for `percent` % of calls, else 0. */
  latencyFor(name: string): number {
    const fault = this.#switches.get(name);
    if (fault === undefined || fault.percent === 0 || fault.latencyMs === 0) return 0;
    return fault.percent >= 100 || this.#random() * 100 < fault.percent ? fault.latencyMs : 0;
  }

  set(name: string, setting: FaultSetting, by: string): FaultSwitch {
    const fault = this.#switches.get(name);
    if (fault === undefined) throw NotFound('FAULT_NOT_FOUND', `no fault switch named ${name}`, { name });
    const { percent } = setting;
    const latencyMs = setting.latencyMs ?? (fault.definition.carriesLatency ? fault.latencyMs : 0);
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw InvalidArgument('INVALID_FAULT_PERCENT', `fault percent must be within 0–100, got ${percent}`, { name, percent });
    }
    if (!Number.isSafeInteger(latencyMs) || latencyMs < 0) {
      throw InvalidArgument('INVALID_FAULT_LATENCY', `fault latency must be a whole number of ms ≥ 0, got ${latencyMs}`, { name, latencyMs });
    }
    if (latencyMs > 0 && !fault.definition.carriesLatency) {
      throw InvalidArgument('FAULT_HAS_NO_LATENCY', `fault ${name} does not carry a latency`, { name, latencyMs });
    }
    if (!by) throw InvalidArgument('FAULT_CHANGE_WITHOUT_ACTOR', 'a fault change must say who made it', { name });

    const change: FaultChange = {
      at: this.#clock.now(),
      by,
      name,
      old: { percent: fault.percent, latencyMs: fault.latencyMs },
      new: { percent, latencyMs },
    };
    fault.percent = percent;
    fault.latencyMs = latencyMs;
    fault.updatedAt = change.at;
    fault.updatedBy = by;
    this.#audit.push(change);
    if (this.#audit.length > this.#auditLimit) this.#audit.splice(0, this.#audit.length - this.#auditLimit);
    this.#metrics.faultSwitchPercent.set({ fault: name }, percent);
    if (percent > 0) this.#logger.warn({ fault: change }, `fault ${name} set to ${percent} % by ${by}`);
    else this.#logger.info({ fault: change }, `fault ${name} turned off by ${by}`);
    return this.#view(fault);
  }

  /** Turns every switch that is on back off, each change audited. */
  resetAll(by: string): void {
    for (const [name, fault] of this.#switches) if (fault.percent > 0) this.set(name, { percent: 0 }, by);
  }

  list(): FaultSwitch[] {
    return [...this.#switches.values()].map((fault) => this.#view(fault)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Oldest first. */
  auditLog(): FaultChange[] {
    return this.#audit.map((change) => ({ ...change, old: { ...change.old }, new: { ...change.new } }));
  }

  #view(fault: MutableSwitch): FaultSwitch {
    return {
      name: fault.definition.name,
      description: fault.definition.description,
      carriesLatency: fault.definition.carriesLatency,
      percent: fault.percent,
      latencyMs: fault.latencyMs,
      updatedAt: fault.updatedAt,
      updatedBy: fault.updatedBy,
    };
  }
}
