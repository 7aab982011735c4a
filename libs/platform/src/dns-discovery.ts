import { Resolver } from 'node:dns/promises';
import type { Discovery, ServiceInstance } from './discovery.ts';
import { instancesToUrls } from './discovery.ts';

/** One DNS name per service, e.g. a Kubernetes headless Service: every A/AAAA record is an instance. */
export interface DnsServiceName {
  host: string;
  port: number;
  protocol?: 'http' | 'https';
}

export interface ResolvedAddress {
  address: string;
  /** Seconds the answer may be cached, from the record. */
  ttl: number;
}

export interface DnsDiscoveryOptions {
  services: Readonly<Record<string, DnsServiceName>>;
  /** Looks a name up (A and AAAA); Node's resolver by default. The port tests replace. */
  resolve?: (host: string) => Promise<ResolvedAddress[]>;
  /** Re-resolution bounds: a TTL of 0 does not mean a query per call, a day-long TTL not a stale list. */
  minRefreshMs?: number;
  maxRefreshMs?: number;
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
  setTimer?: (callback: () => void, ms: number) => { unref?(): void };
  clearTimer?: (timer: unknown) => void;
}

/** A and AAAA with TTLs from the system's DNS servers (not /etc/hosts: that is what `lookup` reads). */
export async function resolveWithTtl(host: string): Promise<ResolvedAddress[]> {
  const resolver = new Resolver();
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host, { ttl: true }), resolver.resolve6(host, { ttl: true })]);
  const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (found.length === 0 && v4.status === 'rejected') throw v4.reason as Error;
  return found;
}

/**
 * Discovery from DNS: every address a service's name resolves to is an instance, re-resolved when
 * the shortest TTL runs out (within bounds). A failed lookup keeps the last good answer and tries
 * again at the lower bound: a DNS hiccup must not empty the list of a service that is up.
 */
export class DnsDiscovery implements Discovery {
  readonly #options: Required<Pick<DnsDiscoveryOptions, 'minRefreshMs' | 'maxRefreshMs'>> & DnsDiscoveryOptions;
  readonly #resolve: (host: string) => Promise<ResolvedAddress[]>;
  readonly #instances = new Map<string, ServiceInstance[]>();
  /** The URL list handed out per service, replaced only when the answer changes (clients compare it by identity). */
  readonly #urls = new Map<string, string[]>();
  readonly #timers = new Map<string, unknown>();
  #closed = false;

  private constructor(options: DnsDiscoveryOptions) {
    this.#options = { minRefreshMs: 1_000, maxRefreshMs: 30_000, ...options };
    this.#resolve = options.resolve ?? resolveWithTtl;
  }

  /** Resolves every name once before answering, so the first call finds its endpoints. */
  static async start(options: DnsDiscoveryOptions): Promise<DnsDiscovery> {
    const discovery = new DnsDiscovery(options);
    await Promise.all(Object.keys(options.services).map((service) => discovery.#refresh(service)));
    return discovery;
  }

  endpointsOf(service: string): string[] {
    const urls = this.#urls.get(service);
    return urls && urls.length > 0 ? urls : instancesToUrls(service, []);
  }

  instancesOf(service: string): ServiceInstance[] {
    return this.#instances.get(service) ?? [];
  }

  async #refresh(service: string): Promise<void> {
    const name = this.#options.services[service];
    if (!name || this.#closed) return;
    let nextMs = this.#options.minRefreshMs;
    try {
      const addresses = await this.#resolve(name.host);
      const protocol = name.protocol ?? 'http';
      const instances = addresses.map(({ address }) => ({ url: `${protocol}://${address.includes(':') ? `[${address}]` : address}:${name.port}` }));
      const urls = instances.map((instance) => instance.url).sort();
      const previous = this.#urls.get(service);
      if (!previous || previous.length !== urls.length || previous.some((url, index) => url !== urls[index])) this.#urls.set(service, urls);
      this.#instances.set(service, instances);
      const shortestTtlMs = Math.min(...addresses.map(({ ttl }) => ttl * 1000), this.#options.maxRefreshMs);
      nextMs = Math.max(this.#options.minRefreshMs, shortestTtlMs);
    } catch (error) {
      this.#options.onWarning?.('DNS lookup failed; keeping the last known endpoints', { service, host: name.host, error: (error as Error).message });
    }
    if (this.#closed) return;
    const setTimer = this.#options.setTimer ?? ((callback: () => void, ms: number) => setTimeout(callback, ms));
    const timer = setTimer(() => void this.#refresh(service), nextMs);
    timer.unref?.();
    this.#timers.set(service, timer);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const clearTimer = this.#options.clearTimer ?? ((timer: unknown) => clearTimeout(timer as NodeJS.Timeout));
    for (const timer of this.#timers.values()) clearTimer(timer);
    this.#timers.clear();
  }
}
