import { hostname } from 'node:os';
import { ConfigError, DnsDiscovery, EtcdDiscovery, defaultConfigPrefix, type Discovery, type ServiceRegistration } from '@carshare/platform';
import { discoveryFromEnvironment, processEnvironment, type ServiceEnvironment } from './service-config.ts';
import type { AnyServiceDescriptor } from './service-descriptor.ts';

export const discoveryKinds = ['static', 'dns', 'etcd'] as const;
export type DiscoveryKind = (typeof discoveryKinds)[number];

/**
 * How long a withdrawn instance keeps answering before it drains (`DISCOVERY_DRAIN_MS`): enough
 * for every caller's watch to hear of it on a loaded machine; it adds to every graceful stop.
 */
const defaultDrainMs = 1_000;

/** What a process of the distributed topology finds the others with, and how it is found. */
export interface OpenedDiscovery {
  kind: DiscoveryKind;
  discovery: Discovery;
  /**
   * Announces this instance where the others look (etcd), until `close` of the registration; a
   * no-op for static and DNS, where the list or the cluster's DNS says where instances are.
   */
  announce(service: string, instance: { url: string; zone?: string; version?: string }): Promise<ServiceRegistration | undefined>;
  close(): Promise<void>;
}

/**
 * `DISCOVERY` picks the adapter (issue 17): `static` (default: `<PREFIX>_URL` lists), `dns` (each
 * callee's `<PREFIX>_DNS_NAME`, default `carshare-<name>-pods`, the headless Service of
 * deploy/k8s, at its default port) or `etcd` (`ETCD_ENDPOINTS`, comma-separated; also chosen when
 * only `ETCD_ENDPOINTS` is set; keys under `ETCD_PREFIX`, default `carshare/services/`; a
 * canary weight per callee at `<ETCD_CONFIG_PREFIX>rollout/<service>`; `DISCOVERY_DRAIN_MS`).
 */
export async function openDiscovery(
  callees: readonly AnyServiceDescriptor[],
  environment: ServiceEnvironment = processEnvironment(),
  onWarning: (message: string, details?: Record<string, unknown>) => void = () => undefined,
): Promise<OpenedDiscovery> {
  const { env } = environment;
  const etcdEndpoints = (env['ETCD_ENDPOINTS'] ?? '')
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean);
  const kind = env['DISCOVERY'] || (etcdEndpoints.length > 0 ? 'etcd' : 'static');
  if (!(discoveryKinds as readonly string[]).includes(kind)) throw new ConfigError(`DISCOVERY must be one of ${discoveryKinds.join(', ')}, not '${kind}'`);
  const noAnnouncement = async () => undefined;
  switch (kind as DiscoveryKind) {
    case 'static':
      return { kind: 'static', discovery: discoveryFromEnvironment(callees, environment), announce: noAnnouncement, close: async () => undefined };
    case 'dns': {
      const services = Object.fromEntries(
        callees.map((callee) => [callee.name, { host: env[`${callee.envPrefix}_DNS_NAME`] || `carshare-${callee.name}-pods`, port: callee.defaultPort }]),
      );
      const discovery = await DnsDiscovery.start({ services, onWarning });
      return { kind: 'dns', discovery, announce: noAnnouncement, close: () => discovery.close() };
    }
    case 'etcd': {
      if (etcdEndpoints.length === 0) throw new ConfigError('DISCOVERY=etcd needs ETCD_ENDPOINTS (comma-separated client URLs)');
      const drainMs = Number(env['DISCOVERY_DRAIN_MS'] || defaultDrainMs);
      if (!Number.isSafeInteger(drainMs) || drainMs < 0 || drainMs > 10_000) throw new ConfigError(`DISCOVERY_DRAIN_MS must be a whole number of ms in [0, 10000], not '${env['DISCOVERY_DRAIN_MS']}'`);
      const discovery = await EtcdDiscovery.connect({
        endpoints: etcdEndpoints,
        prefix: env['ETCD_PREFIX'] || undefined,
        // Rollouts are central config (ADR 0024's prefix), read where the versions they split by are.
        rolloutPrefix: `${env['ETCD_CONFIG_PREFIX'] || defaultConfigPrefix}rollout/`,
        onWarning,
      });
      return {
        kind: 'etcd',
        discovery,
        announce: (service, instance) => discovery.register(service, instance, { drainMs }),
        close: () => discovery.close(),
      };
    }
  }
}

/**
 * Where this instance tells the others to call it: `<PREFIX>_ADVERTISE_URL`, else its listening
 * address with the wildcard host replaced by `POD_IP` or the host name.
 */
export function advertisedUrl(descriptor: AnyServiceDescriptor, host: string, port: number, environment: ServiceEnvironment = processEnvironment()): string {
  const configured = environment.env[`${descriptor.envPrefix}_ADVERTISE_URL`];
  if (configured) return configured;
  const reachable = host === '0.0.0.0' || host === '::' ? environment.env['POD_IP'] || hostname() : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
