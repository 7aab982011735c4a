import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { droppedDefaultMetricNames, metricLabels, metricNames } from './telemetry-names.ts';

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type HttpLabel = typeof metricLabels.httpRequestMethod | typeof metricLabels.httpRoute | typeof metricLabels.httpResponseStatusCode;
type RpcLabel = typeof metricLabels.rpcService | typeof metricLabels.rpcMethod | typeof metricLabels.rpcStatusCode;

/**
 * RED per module: rate and errors come from each histogram's count by status or code, duration
 * from its buckets. Names and labels come from telemetry-names.ts.
 */
export interface ServiceMetrics {
  registry: Registry;
  httpServerDuration: Histogram<HttpLabel>;
  rpcServerDuration: Histogram<RpcLabel>;
  rpcClientDuration: Histogram<RpcLabel>;
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
  if (options.processMetrics) {
    // prom-client's own names, unprefixed: stock Node.js dashboards read them as they are.
    collectDefaultMetrics({ register: registry });
    for (const name of droppedDefaultMetricNames) registry.removeSingleMetric(name);
  }
  const rpcLabels = [metricLabels.rpcService, metricLabels.rpcMethod, metricLabels.rpcStatusCode];
  return {
    registry,
    httpServerDuration: new Histogram({
      name: metricNames.http.serverRequestDuration,
      help: 'Duration of inbound HTTP requests by method, route template and status code',
      labelNames: [metricLabels.httpRequestMethod, metricLabels.httpRoute, metricLabels.httpResponseStatusCode],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rpcServerDuration: new Histogram({
      name: metricNames.rpc.serverDuration,
      help: 'Duration of inbound RPC calls by service, method and canonical code',
      labelNames: rpcLabels,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    rpcClientDuration: new Histogram({
      name: metricNames.rpc.clientDuration,
      help: 'Duration of outbound RPC calls (retries included) by downstream service, method and canonical code',
      labelNames: rpcLabels,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    unhandledErrors: new Counter({
      name: metricNames.platform.unhandledErrors,
      help: 'Errors that reached a last-resort handler',
      labelNames: ['where'],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: metricNames.platform.cacheLookups,
      help: 'Lookups in read caches by cache and result (hit or miss)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
  };
}
