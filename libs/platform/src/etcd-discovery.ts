import { randomUUID } from 'node:crypto';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { Discovery, ServiceInstance, ServiceRegistration } from './discovery.ts';
import { instancesToUrls } from './discovery.ts';

export interface EtcdDiscoveryOptions {
  /** etcd's client URLs (`ETCD_ENDPOINTS`, comma-separated): `http://10.0.0.1:2379,…`. */
  endpoints: readonly string[];
  /** Key prefix of the registrations; a per-run prefix keeps tests apart on a shared etcd. */
  prefix?: string;
  dialTimeoutMs?: number;
  /** Told when a lease is lost and re-granted, or the watch reconnects. */
  onWarning?: (message: string, details?: Record<string, unknown>) => void;
}

const defaultPrefix = 'carshare/services/';

/**
 * Discovery from etcd (issue 17): every instance registers `<prefix><service>/<id>` → its
 * address, zone and version under a lease it keeps alive, and every client watches the prefix.
 * An instance that dies stops renewing; etcd deletes its key when the lease's TTL runs out and
 * the watch removes it everywhere. `endpointsOf` answers from the watched copy, never from a
 * round trip, so a call pays nothing for discovery and keeps working while etcd is briefly away.
 */
export class EtcdDiscovery implements Discovery {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #instances = new Map<string, Map<string, ServiceInstance>>();
  /** The URL list handed out per service, rebuilt only when the service's instances change (clients compare it by identity). */
  readonly #urls = new Map<string, string[]>();
  readonly #listeners = new Set<() => void>();
  readonly #registrations = new Set<ServiceRegistration>();
  readonly #onWarning: NonNullable<EtcdDiscoveryOptions['onWarning']>;
  #watcher: Watcher | undefined;

  private constructor(client: Etcd3, prefix: string, onWarning: EtcdDiscoveryOptions['onWarning']) {
    this.#client = client;
    this.#prefix = prefix;
    this.#onWarning = onWarning ?? (() => undefined);
  }

  /** Connects, reads every registration, then watches from the revision it read at (no gap, no double). */
  static async connect(options: EtcdDiscoveryOptions): Promise<EtcdDiscovery> {
    // Loaded only when etcd is configured: gRPC and its protobuf definitions cost start-up time.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: [...options.endpoints], dialTimeout: options.dialTimeoutMs ?? 3_000 });
    const discovery = new EtcdDiscovery(client, options.prefix ?? defaultPrefix, options.onWarning);
    try {
      await discovery.#load();
    } catch (error) {
      client.close();
      throw error;
    }
    return discovery;
  }

  async #load(): Promise<void> {
    const response = await this.#client.getAll().prefix(this.#prefix).exec();
    for (const kv of response.kvs) this.#apply('put', kv.key.toString(), kv.value.toString());
    const revision = BigInt(response.header.revision);
    this.#watcher = await this.#client
      .watch()
      .prefix(this.#prefix)
      .startRevision(String(revision + 1n))
      .create();
    this.#watcher.on('put', (kv) => this.#apply('put', kv.key.toString(), kv.value.toString()));
    this.#watcher.on('delete', (kv) => this.#apply('delete', kv.key.toString(), ''));
    this.#watcher.on('disconnected', (error) => this.#onWarning('etcd watch disconnected; serving the last known endpoints', { error: error.message }));
    this.#watcher.on('connected', () => undefined);
  }

  #apply(type: 'put' | 'delete', key: string, value: string): void {
    const rest = key.slice(this.#prefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return;
    const service = rest.slice(0, slash);
    const id = rest.slice(slash + 1);
    let instances = this.#instances.get(service);
    if (type === 'delete') {
      instances?.delete(id);
    } else {
      const instance = parseInstance(value);
      if (!instance) {
        this.#onWarning('ignoring a registration that is not an instance', { key });
        return;
      }
      if (!instances) this.#instances.set(service, (instances = new Map<string, ServiceInstance>()));
      instances.set(id, instance);
    }
    this.#urls.delete(service);
    for (const listener of this.#listeners) listener();
  }

  endpointsOf(service: string): string[] {
    let urls = this.#urls.get(service);
    if (!urls) {
      urls = instancesToUrls(service, this.instancesOf(service));
      this.#urls.set(service, urls);
    }
    return urls;
  }

  instancesOf(service: string): ServiceInstance[] {
    return [...(this.#instances.get(service)?.values() ?? [])];
  }

  /** Called after every change the watch delivers (balancers rebuild their endpoint lists). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Announces this instance under a lease of `ttlSeconds`, renewed by etcd3's keep-alive. A lease
   * lost (etcd restarted, a long pause) is granted again and the key written again, so an
   * instance that is alive is never left out for longer than a TTL.
   */
  async register(service: string, instance: ServiceInstance, { ttlSeconds = 10 }: { ttlSeconds?: number } = {}): Promise<ServiceRegistration> {
    const key = `${this.#prefix}${service}/${randomUUID()}`;
    const value = JSON.stringify(instance);
    let closed = false;
    let lease: Lease;
    const grant = async (): Promise<void> => {
      lease = this.#client.lease(ttlSeconds, { autoKeepAlive: true });
      lease.on('lost', (error) => {
        if (closed) return;
        this.#onWarning('etcd lease lost; registering again', { service, error: error.message });
        void grant().catch((retryError: unknown) => this.#onWarning('etcd registration failed', { service, error: (retryError as Error).message }));
      });
      await lease.put(key).value(value);
    };
    await grant();
    const registration: ServiceRegistration = {
      key,
      close: async () => {
        if (closed) return;
        closed = true;
        this.#registrations.delete(registration);
        // Revoking deletes the key at once: callers stop choosing this instance before it drains.
        await lease.revoke().catch(() => undefined);
      },
    };
    this.#registrations.add(registration);
    return registration;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#registrations].map((registration) => registration.close()));
    await this.#watcher?.cancel().catch(() => undefined);
    this.#client.close();
  }
}

function parseInstance(value: string): ServiceInstance | undefined {
  try {
    const parsed = JSON.parse(value) as Partial<ServiceInstance>;
    if (typeof parsed.url !== 'string' || !/^https?:\/\//.test(parsed.url)) return undefined;
    return {
      url: parsed.url,
      ...(typeof parsed.zone === 'string' && { zone: parsed.zone }),
      ...(typeof parsed.version === 'string' && { version: parsed.version }),
    };
  } catch {
    return undefined;
  }
}
