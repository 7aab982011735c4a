import { randomUUID } from 'node:crypto';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { CanaryWeight, Discovery, ServiceInstance, ServiceRegistration } from './discovery.ts';
import { instancesToUrls } from './discovery.ts';

export interface EtcdDiscoveryOptions {
  /** etcd's client URLs (`ETCD_ENDPOINTS`, comma-separated): `http://10.0.0.1:2379,…`. */
  endpoints: readonly string[];
  /** Key prefix of the registrations; a per-run prefix keeps tests apart on a shared etcd. */
  prefix?: string;
  dialTimeoutMs?: number;
  /**
   * Where rollouts are kept (central config, e.g. `carshare/config/rollout/`): key `<service>`
   * holds `{"canaryVersion":"1.1.0","canaryWeight":10}`, the share of calls for the instances
   * registered with that version. Watched like the registrations; unset → no canaries.
   */
  rolloutPrefix?: string;
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
  readonly #rolloutPrefix: string | undefined;
  readonly #canaries = new Map<string, CanaryWeight>();
  #watcher: Watcher | undefined;
  #rolloutWatcher: Watcher | undefined;

  private constructor(client: Etcd3, prefix: string, options: EtcdDiscoveryOptions) {
    this.#client = client;
    this.#prefix = prefix;
    this.#onWarning = options.onWarning ?? (() => undefined);
    this.#rolloutPrefix = options.rolloutPrefix;
  }

  /** Connects, reads every registration, then watches from the revision it read at (no gap, no double). */
  static async connect(options: EtcdDiscoveryOptions): Promise<EtcdDiscovery> {
    // Loaded only when etcd is configured: gRPC and its protobuf definitions cost start-up time.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: [...options.endpoints], dialTimeout: options.dialTimeoutMs ?? 3_000 });
    const discovery = new EtcdDiscovery(client, options.prefix ?? defaultPrefix, options);
    try {
      await discovery.#load();
      await discovery.#loadRollouts();
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

  async #loadRollouts(): Promise<void> {
    const prefix = this.#rolloutPrefix;
    if (!prefix) return;
    const response = await this.#client.getAll().prefix(prefix).exec();
    for (const kv of response.kvs) this.#applyRollout(kv.key.toString(), kv.value.toString());
    this.#rolloutWatcher = await this.#client
      .watch()
      .prefix(prefix)
      .startRevision(String(BigInt(response.header.revision) + 1n))
      .create();
    this.#rolloutWatcher.on('put', (kv) => this.#applyRollout(kv.key.toString(), kv.value.toString()));
    this.#rolloutWatcher.on('delete', (kv) => this.#applyRollout(kv.key.toString(), undefined));
    this.#rolloutWatcher.on('disconnected', (error) => this.#onWarning('etcd rollout watch disconnected; keeping the last known canaries', { error: error.message }));
  }

  /** A valid rollout replaces the service's canary, a deleted one ends it, an invalid one is refused and the running one stays. */
  #applyRollout(key: string, value: string | undefined): void {
    const service = key.slice((this.#rolloutPrefix as string).length);
    if (service === '' || service.includes('/')) return;
    if (value === undefined) {
      this.#canaries.delete(service);
      this.#onWarning('rollout deleted: calls spread over every instance again', { key, service });
      return;
    }
    const parsed = parseRollout(value);
    if (typeof parsed === 'string') {
      this.#onWarning(`rollout rejected for ${key}: ${parsed}; keeping the running one`, { key, service, error: parsed });
      return;
    }
    if (parsed) this.#canaries.set(service, parsed);
    else this.#canaries.delete(service);
  }

  canaryOf(service: string): CanaryWeight | undefined {
    return this.#canaries.get(service);
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
      instances.set(id, { ...instance, id });
    }
    this.#urls.delete(service);
    for (const listener of this.#listeners) listener();
  }

  endpointsOf(service: string): string[] {
    let urls = this.#urls.get(service);
    if (!urls) {
      // One address listed once: a process restarted in place re-registers it while the crashed
      // one's registration waits for its lease to run out.
      urls = [...new Set(instancesToUrls(service, this.instancesOf(service)))];
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
   *
   * Closing revokes the lease (the key goes at once), then waits `drainMs` while the instance
   * still answers as before: callers learn of the withdrawal through their watch a little later,
   * and a call they send meanwhile must find a server that takes it, not one already refusing
   * new requests with 503 (Kubernetes' preStop sleep, for the same reason).
   */
  async register(service: string, instance: ServiceInstance, { ttlSeconds = 10, drainMs = 0 }: { ttlSeconds?: number; drainMs?: number } = {}): Promise<ServiceRegistration> {
    const key = `${this.#prefix}${service}/${randomUUID()}`;
    const value = JSON.stringify({ url: instance.url, ...(instance.zone && { zone: instance.zone }), ...(instance.version && { version: instance.version }) });
    let closed = false;
    let lease: Lease;
    // While etcd is away every grant fails at once and its lease reports itself lost: without a
    // pause between attempts that was a busy loop of leases never released (20 % CPU and 4 MB/s
    // of memory per process until etcd came back).
    let retryDelayMs = 0;
    let retryTimer: NodeJS.Timeout | undefined;
    const retryLater = (message: string, error: Error): void => {
      if (closed || retryTimer !== undefined) return;
      retryDelayMs = Math.min(Math.max(retryDelayMs * 2, 250), 5_000);
      const delayMs = retryDelayMs / 2 + Math.random() * (retryDelayMs / 2);
      this.#onWarning(message, { service, error: error.message, retryInMs: Math.round(delayMs) });
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        if (closed) return;
        grant().then(
          () => {
            retryDelayMs = 0;
          },
          (retryError: unknown) => retryLater('etcd registration failed', retryError as Error),
        );
      }, delayMs);
      retryTimer.unref();
    };
    const grant = async (): Promise<void> => {
      const granted = this.#client.lease(ttlSeconds, { autoKeepAlive: true });
      lease = granted;
      granted.on('lost', (error) => {
        granted.release();
        retryLater('etcd lease lost; registering again', error);
      });
      await granted.put(key).value(value);
    };
    await grant();
    const registration: ServiceRegistration = {
      key,
      close: async () => {
        if (closed) return;
        closed = true;
        clearTimeout(retryTimer);
        this.#registrations.delete(registration);
        // Revoking deletes the key at once: callers stop choosing this instance before it drains.
        await settledWithin(lease.revoke(), 2_000);
        if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs));
      },
    };
    this.#registrations.add(registration);
    return registration;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#registrations].map((registration) => registration.close()));
    await Promise.all([settledWithin(this.#watcher?.cancel(), 1_000), settledWithin(this.#rolloutWatcher?.cancel(), 1_000)]);
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

/**
 * A rollout: `{"canaryVersion": "<version label>", "canaryWeight": <percent 0–100>}`; a weight of
 * 0 is no canary. Returns the reason when the value is refused.
 */
function parseRollout(value: string): CanaryWeight | undefined | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not an object';
  const { canaryVersion, canaryWeight, ...rest } = parsed as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) return `unknown keys ${unknownKeys.join(', ')} (canaryVersion and canaryWeight only)`;
  if (typeof canaryVersion !== 'string' || canaryVersion === '') return 'canaryVersion must be a non-empty version label';
  if (typeof canaryWeight !== 'number' || !Number.isFinite(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) return 'canaryWeight must be a number of percent in [0, 100]';
  return canaryWeight === 0 ? undefined : { version: canaryVersion, percent: canaryWeight };
}

/**
 * Waits for `work` at most `ms`, whatever its outcome. etcd3's watcher `cancel` waits for etcd's
 * confirmation, which a stream that is reconnecting never sends: a process stopping must not
 * hang on it (the client is closed right after), nor on a revoke etcd is too busy to answer
 * (the lease then runs out on its own).
 */
export async function settledWithin(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
