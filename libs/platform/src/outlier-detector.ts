import type { ServiceInstance } from './discovery.ts';

export interface OutlierDetectionSettings {
  /** Consecutive failures (connection errors, 5xx) that eject an endpoint. Envoy's default is 5. */
  consecutiveFailures: number;
  /** An ejection lasts this × the number of times the endpoint was ejected, up to `maxEjectionMs`. */
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** Never more than this share of a service's endpoints out at once (at least one stays in). */
  maxEjectionPercent: number;
}

export const defaultOutlierDetection: OutlierDetectionSettings = { consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 };

interface EndpointHealth {
  consecutiveFailures: number;
  ejections: number;
  ejectedUntil: number;
}

/**
 * Outlier ejection as Envoy does it, per caller: an endpoint that failed N times in a row is left
 * out of the rotation for a while that grows with each ejection, so a crashed or wedged instance
 * stops eating a share of the calls long before discovery notices it (an etcd lease runs 10 s, a
 * DNS TTL longer). The cap on the ejected share keeps a service-wide outage from ejecting
 * everything: then calls go on and fail fast, and the breaker above decides.
 */
export class OutlierDetector {
  readonly #settings: OutlierDetectionSettings;
  readonly #now: () => number;
  readonly #health = new Map<string, EndpointHealth>();
  /** Which registration each address had when discovery last changed. */
  readonly #registrations = new Map<string, string | undefined>();

  constructor(settings: Partial<OutlierDetectionSettings> = {}, now: () => number = Date.now) {
    this.#settings = { ...defaultOutlierDetection, ...settings };
    this.#now = now;
  }

  /** The first endpoint from `start` (round-robin) that is not ejected; `start`'s own when all are. */
  pick(endpoints: readonly string[], start: number): string {
    const now = this.#now();
    for (let offset = 0; offset < endpoints.length; offset++) {
      const url = endpoints[(start + offset) % endpoints.length] as string;
      const health = this.#health.get(url);
      if (!health || health.ejectedUntil <= now) return url;
    }
    return endpoints[start % endpoints.length] as string;
  }

  succeeded(url: string): void {
    const health = this.#health.get(url);
    if (health) health.consecutiveFailures = 0;
  }

  failed(url: string, endpoints: readonly string[]): void {
    const now = this.#now();
    let health = this.#health.get(url);
    if (!health) this.#health.set(url, (health = { consecutiveFailures: 0, ejections: 0, ejectedUntil: 0 }));
    if (health.ejectedUntil > now) return;
    health.consecutiveFailures++;
    if (health.consecutiveFailures < this.#settings.consecutiveFailures) return;
    const ejectedNow = endpoints.filter((endpoint) => (this.#health.get(endpoint)?.ejectedUntil ?? 0) > now).length;
    const allowed = Math.max(1, Math.floor((endpoints.length * this.#settings.maxEjectionPercent) / 100));
    if (ejectedNow >= allowed || ejectedNow + 1 >= endpoints.length) return;
    health.ejections++;
    health.consecutiveFailures = 0;
    health.ejectedUntil = now + Math.min(this.#settings.baseEjectionMs * health.ejections, this.#settings.maxEjectionMs);
  }

  isEjected(url: string): boolean {
    return (this.#health.get(url)?.ejectedUntil ?? 0) > this.#now();
  }

  /**
   * Forgets endpoints discovery no longer lists, and the record of an address registered anew
   * (`instances` with ids, from etcd): a process restarted in place on the address of a crashed
   * one must rejoin at once, not sit out the crashed one's ejection (30 s and up).
   */
  retain(endpoints: readonly string[], instances?: readonly ServiceInstance[]): void {
    for (const url of this.#health.keys()) if (!endpoints.includes(url)) this.#health.delete(url);
    if (!instances) return;
    const seen = new Map<string, string | undefined>();
    // The latest registration of an address wins: the crashed one's lingers until its lease runs out.
    for (const instance of instances) seen.set(instance.url, instance.id);
    for (const [url, id] of seen) {
      const before = this.#registrations.get(url);
      if (before !== undefined && before !== id) this.#health.delete(url);
      this.#registrations.set(url, id);
    }
    for (const url of this.#registrations.keys()) if (!seen.has(url)) this.#registrations.delete(url);
  }
}
