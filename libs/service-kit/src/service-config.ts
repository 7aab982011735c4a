import {
  ConfigError,
  StaticDiscovery,
  commonEnvMap,
  isRpcTransportKind,
  laptopServiceKeys,
  loadConfig,
  rpcTransportKinds,
  serviceKeysFromSettings,
  type RpcTransportKind,
  type ServiceKeyRing,
} from '@carshare/platform';
import type { Static, TObject } from 'typebox';
import type { AnyServiceDescriptor } from './service-descriptor.ts';

/** The part of a descriptor that says how its config is read; a service's config.ts exports it. */
export interface ServiceConfigShape<Schema extends TObject = TObject> {
  readonly envPrefix: string;
  readonly defaultPort: number;
  readonly configSchema: Schema;
  /** Environment variable → config path, beyond the common ones and `<PREFIX>_HOST`/`_PORT`. */
  readonly envMap?: Readonly<Record<string, string>>;
}

/**
 * The environment this kit reads: the one place outside a service's own config that looks at
 * process.env, so a service's descriptor never does.
 */
export interface ServiceEnvironment {
  env: Record<string, string | undefined>;
  /** CARSHARE_CONFIG: the JSON file layered under the environment, watched for hot-reloadable keys. */
  configFile: string | undefined;
}

export function processEnvironment(): ServiceEnvironment {
  return { env: process.env, configFile: process.env['CARSHARE_CONFIG'] || undefined };
}

/** Environment variable → config path for one service: the common ones it has, host/port, its own. */
export function serviceEnvMap(descriptor: ServiceConfigShape): Record<string, string> {
  const sections = new Set(Object.keys(descriptor.configSchema.properties));
  const common = Object.entries(commonEnvMap).filter(([, path]) => sections.has(path.split('.')[0] as string));
  return {
    ...Object.fromEntries(common),
    [`${descriptor.envPrefix}_HOST`]: 'http.host',
    [`${descriptor.envPrefix}_PORT`]: 'http.port',
    ...descriptor.envMap,
  };
}

/** Schema defaults → CARSHARE_CONFIG file → environment → overrides, checked and frozen. */
export function loadServiceConfig<Schema extends TObject>(
  descriptor: ServiceConfigShape<Schema>,
  overrides: Record<string, unknown> = {},
  environment: ServiceEnvironment = processEnvironment(),
): Static<Schema> {
  return loadConfig(descriptor.configSchema, {
    env: environment.env,
    file: environment.configFile,
    envMap: serviceEnvMap(descriptor),
    overrides,
  }) as Static<Schema>;
}

/**
 * Where each registered service answers in the distributed topology: `<PREFIX>_URL` (a
 * comma-separated list spreads load across instances), else its default port on loopback.
 */
export function discoveryFromEnvironment(
  descriptors: readonly AnyServiceDescriptor[],
  environment: ServiceEnvironment = processEnvironment(),
): StaticDiscovery {
  return new StaticDiscovery(
    Object.fromEntries(
      descriptors.map((descriptor) => [descriptor.name, environment.env[`${descriptor.envPrefix}_URL`] || `http://127.0.0.1:${descriptor.defaultPort}`]),
    ),
  );
}

/**
 * How modules that share a process call each other (`carshare up`): `RPC_TRANSPORT`, in process by
 * default; `http` sends every call over loopback HTTP (ADR 0011), `framed` over the framed wire
 * (ADR 0029). In a process of its own (`carshare service`) calls go to other processes: `http`
 * there keeps HTTP/1.1, anything else takes the framed wire.
 */
export function rpcTransportFromEnvironment(environment: ServiceEnvironment = processEnvironment()): RpcTransportKind {
  const value = environment.env['RPC_TRANSPORT'];
  if (value === undefined || value === '') return 'in-process';
  if (!isRpcTransportKind(value)) throw new ConfigError(`RPC_TRANSPORT must be one of ${rpcTransportKinds.join(', ')}, not '${value}'`);
  return value;
}

/**
 * The keys a service process signs its RPCs with and checks its callers against (ADR 0012):
 * `SERVICE_IDENTITY_KEY` (its own Ed25519 private key, base64url) and
 * `SERVICE_IDENTITY_PUBLIC_KEYS` (`gateway:<base64url>,…`: the services whose calls it accepts),
 * both or neither. Neither: the laptop keys, which anyone can derive from the service names.
 */
export function serviceKeysFromEnvironment(service: string, environment: ServiceEnvironment = processEnvironment()): ServiceKeyRing {
  const privateKey = environment.env['SERVICE_IDENTITY_KEY'] || undefined;
  const publicKeys = environment.env['SERVICE_IDENTITY_PUBLIC_KEYS'] || undefined;
  if (privateKey === undefined && publicKeys === undefined) return laptopServiceKeys();
  if (privateKey === undefined) throw new ConfigError('SERVICE_IDENTITY_PUBLIC_KEYS is set but SERVICE_IDENTITY_KEY is not: set both or neither (ADR 0012)');
  try {
    return serviceKeysFromSettings({ service, privateKey, publicKeys: publicKeys ?? '' });
  } catch (error) {
    throw new ConfigError(`SERVICE_IDENTITY_KEY / SERVICE_IDENTITY_PUBLIC_KEYS: ${(error as Error).message}`);
  }
}
