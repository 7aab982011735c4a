import { NotFound } from './errors.ts';

/** Where a service can be reached. Static lists now; DNS or etcd later behind the same port. */
export interface Discovery {
  endpointsOf(service: string): string[];
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
    if (!endpoints || endpoints.length === 0) {
      throw NotFound('SERVICE_NOT_DISCOVERED', `no endpoint is configured for service ${service}`, { service });
    }
    return endpoints;
  }
}
