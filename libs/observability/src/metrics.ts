import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric name lives here, so dashboards and alerts have one place to look.
 * RED: rate and errors come from the histogram's count by status/code, duration from its buckets.
 */
export const metricNames = {
  httpServerDuration: 'carshare_http_server_duration_seconds',
  rpcServerDuration: 'carshare_rpc_server_duration_seconds',
  rpcClientDuration: 'carshare_rpc_client_duration_seconds',
  unhandledErrors: 'carshare_unhandled_errors_total',
  cacheLookups: 'carshare_cache_lookups_total',
} as const;

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ServiceMetrics {
  registry: Registry;
  httpServerDuration: Histogram<'method' | 'route' | 'status_code'>;
  rpcServerDuration: Histogram<'method' | 'code'>;
  rpcClientDuration: Histogram<'downstream' | 'method' | 'code'>;
  unhandledErrors: Counter<'where'>;
  /** Read caches in front of a store: the hit rate says whether the cache earns its staleness. */
  cacheLookups: Counter<'cache' | 'result'>;
}

export interface MetricsOptions {
  service: string;
  /** Process metrics (heap, event loop lag, GC) belong once per process, not once per module. */
  processMetrics: boolean;
}

export function createMetrics(options: MetricsOptions): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'carshare_' });
  return {
    registry,
    httpServerDuration: new Histogram({
      name: metricNames.httpServerDuration,
      help: 'Inbound HTTP requests by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rpcServerDuration: new Histogram({
      name: metricNames.rpcServerDuration,
      help: 'Inbound RPC calls by method and canonical code',
      labelNames: ['method', 'code'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rpcClientDuration: new Histogram({
      name: metricNames.rpcClientDuration,
      help: 'Outbound RPC calls by downstream, method and canonical code',
      labelNames: ['downstream', 'method', 'code'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    unhandledErrors: new Counter({
      name: metricNames.unhandledErrors,
      help: 'Errors that reached a last-resort handler',
      labelNames: ['where'],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: metricNames.cacheLookups,
      help: 'Lookups in read caches by cache and result (hit or miss)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
  };
}
