import { Unavailable } from './errors.ts';

/**
 * Where a service can be reached: a static list (embedded, or URLs in env), DNS (a Kubernetes
 * headless Service) or etcd registrations (issue 17), behind this one port. `endpointsOf` is
 * synchronous and cheap: the dynamic adapters answer from a copy they keep current.
 */
export interface Discovery {
  endpointsOf(service: string): string[];
  /** The instances behind `endpointsOf`, with their zone and version, where the source knows them (etcd). */
  instancesOf?(service: string): ServiceInstance[];
  /** The rollout of a service now (central config beside the registrations, which carry the versions), if any. */
  canaryOf?(service: string): CanaryWeight | undefined;
}

/** `percent` of the calls go to the instances whose version is `version`. */
export interface CanaryWeight {
  version: string;
  percent: number;
}

/** One registered instance: where it answers, and what a balancer may prefer it by. */
export interface ServiceInstance {
  url: string;
  /**
   * This registration, where the source has one (etcd): an address registered again (a process
   * restarted in place) is a new instance, whose health owes nothing to the one before.
   */
  id?: string;
  zone?: string;
  version?: string;
}

/** An instance's announcement; `close` withdraws it (first step of a drain). */
export interface ServiceRegistration {
  readonly key: string;
  close(): Promise<void>;
}

/**
 * The URLs of a service's instances, or SERVICE_NOT_DISCOVERED when it has none (every adapter
 * alike). Unavailable, not not-found: with dynamic discovery "no instance right now" is what a
 * restart looks like, and the caller should answer 503 and may retry, not tell the client 404.
 */
export function instancesToUrls(service: string, instances: readonly ServiceInstance[]): string[] {
  if (instances.length === 0) throw Unavailable('SERVICE_NOT_DISCOVERED', `no endpoint is known for service ${service}`, { service });
  return instances.map((instance) => instance.url);
}

export class StaticDiscovery implements Discovery {
  readonly #endpoints: ReadonlyMap<string, string[]>;

  constructor(endpoints: Record<string, string[] | string>) {
    this.#endpoints = new Map(
      Object.entries(endpoints).map(([service, urls]) => [service, Array.isArray(urls) ? urls : urls.split(',').map((url) => url.trim()).filter(Boolean)]),
    );
  }

  endpointsOf(service: string): string[] {
    const endpoints = this.#endpoints.get(service);
    if (!endpoints || endpoints.length === 0) return instancesToUrls(service, []);
    return endpoints;
  }
}
