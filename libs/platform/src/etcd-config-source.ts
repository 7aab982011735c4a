import type { Etcd3, Watcher } from 'etcd3';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { settledWithin } from './etcd-discovery.ts';
import type { LiveConfig } from './live-config.ts';
import type { StructuredLogger } from './structured-logger.ts';

export interface EtcdConfigSourceOptions {
  /** etcd's client URLs (`ETCD_ENDPOINTS`). */
  endpoints: readonly string[];
  /** Whose keys: the source reads `<prefix><service>/<key>`. */
  service: string;
  /** `ETCD_CONFIG_PREFIX`, default `carshare/config/`; a per-run prefix keeps tests apart on a shared etcd. */
  prefix?: string;
  logger: StructuredLogger;
  dialTimeoutMs?: number;
}

export interface FollowOptions<T> {
  /** The schema of the config file's section of the same name: one definition of what is valid. */
  schema: TSchema;
  /** What applies while the key is absent (or once it is deleted): the value from the file and environment. */
  fallback: () => T;
  /** A rule the schema cannot state (e.g. a fault switch that does not exist): a message rejects the value. */
  check?: (value: T) => string | undefined;
}

/** The hot-reloadable keys of one service, kept in etcd and shared by all of its instances. */
export interface HotConfigSource {
  readonly kind: 'etcd';
  /** Keeps `live` at the key's current value, now and after every change; returns a stop function. */
  follow<T>(key: string, live: LiveConfig<T>, options: FollowOptions<T>): () => void;
  /** Writes a key (validated the same way by every reader, this one included). */
  put(key: string, value: unknown): Promise<void>;
  /**
   * Read-modify-write of a key, safe against writers on other instances: `change` gets the
   * stored JSON (undefined when the key is absent) and returns the value to store; a write that
   * lost the race to another one is done again on the newer value. Returns what was stored.
   */
  update(key: string, change: (current: unknown) => unknown): Promise<unknown>;
  close(): Promise<void>;
}

export const defaultConfigPrefix = 'carshare/config/';

interface Follower {
  apply(raw: string | undefined, revision: string): void;
}

/**
 * Central config on etcd (issue 17, ADR 0024). Key `<prefix><service>/<key>` holds the JSON a
 * config file would hold in its `<key>` section (e.g. `carshare/config/gateway/rateLimits`).
 * Every instance reads the keys once, then watches from the revision it read at, so a change
 * reaches all of them within etcd's watch delay (milliseconds) and none misses one in between.
 * A value is checked with the file's own schema before it applies: a bad one is logged with the
 * key and the reason and the running value stays, exactly like a bad edit of the file.
 */
export class EtcdConfigSource implements HotConfigSource {
  readonly kind = 'etcd';
  readonly #client: Etcd3;
  readonly #keyPrefix: string;
  readonly #logger: StructuredLogger;
  /** Raw values by key, as last read or watched: a key followed later starts from here. */
  readonly #raw = new Map<string, { value: string; revision: string }>();
  readonly #followers = new Map<string, Set<Follower>>();
  #watcher: Watcher | undefined;
  /** How many values were refused since start (tests and the log line read it). */
  rejectedUpdates = 0;

  private constructor(client: Etcd3, keyPrefix: string, logger: StructuredLogger) {
    this.#client = client;
    this.#keyPrefix = keyPrefix;
    this.#logger = logger;
  }

  static async connect(options: EtcdConfigSourceOptions): Promise<EtcdConfigSource> {
    // Loaded only when etcd is configured: gRPC and its protobuf definitions cost start-up time.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: [...options.endpoints], dialTimeout: options.dialTimeoutMs ?? 3_000 });
    const source = new EtcdConfigSource(client, `${options.prefix ?? defaultConfigPrefix}${options.service}/`, options.logger);
    try {
      await source.#load();
    } catch (error) {
      client.close();
      throw error;
    }
    return source;
  }

  async #load(): Promise<void> {
    const response = await this.#client.getAll().prefix(this.#keyPrefix).exec();
    for (const kv of response.kvs) this.#raw.set(kv.key.toString().slice(this.#keyPrefix.length), { value: kv.value.toString(), revision: kv.mod_revision });
    // From the revision just read: no change between the read and the watch is lost or seen twice.
    this.#watcher = await this.#client
      .watch()
      .prefix(this.#keyPrefix)
      .startRevision(String(BigInt(response.header.revision) + 1n))
      .create();
    this.#watcher.on('put', (kv) => this.#changed(kv.key.toString(), kv.value.toString(), kv.mod_revision));
    this.#watcher.on('delete', (kv) => this.#changed(kv.key.toString(), undefined, kv.mod_revision));
    this.#watcher.on('disconnected', (error) => this.#logger.warn({ err: error.message }, 'etcd config watch disconnected; keeping the running values'));
  }

  #changed(fullKey: string, value: string | undefined, revision: string): void {
    const key = fullKey.slice(this.#keyPrefix.length);
    if (value === undefined) this.#raw.delete(key);
    else this.#raw.set(key, { value, revision });
    for (const follower of this.#followers.get(key) ?? []) follower.apply(value, revision);
  }

  follow<T>(key: string, live: LiveConfig<T>, options: FollowOptions<T>): () => void {
    const fullKey = `${this.#keyPrefix}${key}`;
    const follower: Follower = {
      apply: (raw, revision) => {
        if (raw === undefined) {
          live.set(options.fallback());
          this.#logger.info({ key: fullKey, revision }, 'configuration key deleted from etcd; the file value applies');
          return;
        }
        const parsed = parseValue(raw, options);
        if (!parsed.ok) {
          this.rejectedUpdates += 1;
          this.#logger.warn({ key: fullKey, revision, error: parsed.error, rejectedUpdates: this.rejectedUpdates }, `configuration change rejected for ${fullKey}: ${parsed.error}; keeping the running value`);
          return;
        }
        live.set(parsed.value);
        this.#logger.info({ key: fullKey, revision }, 'configuration reloaded from etcd');
      },
    };
    let followers = this.#followers.get(key);
    if (!followers) this.#followers.set(key, (followers = new Set()));
    followers.add(follower);
    const current = this.#raw.get(key);
    if (current) follower.apply(current.value, current.revision);
    return () => followers.delete(follower);
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.#client.put(`${this.#keyPrefix}${key}`).value(JSON.stringify(value));
  }

  async update(key: string, change: (current: unknown) => unknown): Promise<unknown> {
    const fullKey = `${this.#keyPrefix}${key}`;
    for (let attempt = 1; ; attempt++) {
      const response = await this.#client.get(fullKey).exec();
      const kv = response.kvs[0];
      let current: unknown;
      if (kv) {
        try {
          current = JSON.parse(kv.value.toString());
        } catch {
          // A stored value that is not JSON was refused by every reader: writing over it is the fix.
          current = undefined;
        }
      }
      const next = change(current);
      // Compare-and-set on the revision read: another instance's write in between makes this one start over.
      const guard = kv ? this.#client.if(fullKey, 'Mod', '==', kv.mod_revision) : this.#client.if(fullKey, 'Version', '==', 0);
      const result = await guard.then(this.#client.put(fullKey).value(JSON.stringify(next))).commit();
      if (result.succeeded) return next;
      if (attempt >= 25) throw new Error(`${fullKey} kept changing under 25 attempts to update it`);
      // Each round has one winner; a jittered pause keeps the losers from colliding again at once.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * Math.min(attempt, 5)));
    }
  }

  async close(): Promise<void> {
    this.#followers.clear();
    await settledWithin(this.#watcher?.cancel(), 1_000);
    this.#client.close();
  }
}

/** Same steps as loading the file (defaults, then the check), so a value valid in the file is valid here. */
function parseValue<T>(raw: string, options: FollowOptions<T>): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  const value = Value.Default(options.schema, json);
  if (!Value.Check(options.schema, value)) {
    const problems = Value.Errors(options.schema, value).map((problem) => `${problem.instancePath || '(root)'}: ${problem.message}`);
    return { ok: false, error: problems.slice(0, 5).join('; ') };
  }
  const refused = options.check?.(value as T);
  if (refused) return { ok: false, error: refused };
  return { ok: true, value: value as T };
}
