import type { ServiceMetrics } from '@carshare/observability';
import { fastifyPlugin } from 'fastify-plugin';

export interface MetricsEndpointOptions {
  registry: ServiceMetrics['registry'];
}

/** `GET /metrics`: the module's registry in the Prometheus text format, for scrapers. */
export const metricsEndpointPlugin = fastifyPlugin<MetricsEndpointOptions>(
  (app, options, done) => {
    const { registry } = options;
    app.get('/metrics', { logLevel: 'silent' }, async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
    done();
  },
  { name: 'carshare-metrics-endpoint', fastify: '5.x' },
);
