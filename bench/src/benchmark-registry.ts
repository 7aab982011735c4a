import type { BenchmarkEntry } from './benchmark.ts';

/**
 * Every benchmark `npm run bench -- <name>` knows. Adding one is one entry: a module exporting a
 * `BenchmarkRun`, named here with a line of description (see bench/README.md).
 */
export const benchmarks: readonly BenchmarkEntry[] = [
  {
    name: 'gateway',
    description: 'req/s and p50/p99 of bare fastify vs GET /v1/me through the gateway vs one RPC, plus tracing at 10%',
    load: async () => (await import('./gateway/gateway-benchmark.ts')).runGatewayBenchmark,
  },
  {
    name: 'gateway-ladder',
    description: 'server CPU µs per request as /v1/me is rebuilt one layer at a time (where the gateway goals are lost)',
    load: async () => (await import('./gateway/gateway-ladder.ts')).runGatewayLadder,
  },
  {
    name: 'gateway-layers',
    description: 'µs per call of each layer under /v1/me (PGlite, kysely, use case, RPC, route), one call at a time',
    load: async () => (await import('./gateway/layer-costs.ts')).runLayerCosts,
  },
  {
    name: 'resilience',
    description: 'client policy stack overhead per call, and /v1/me throughput with rate limiting on vs off',
    load: async () => (await import('./resilience-benchmark.ts')).runResilienceBenchmark,
  },
  {
    name: 'bus',
    description: 'event bus publish→consume throughput and p99 (in-process, RabbitMQ) and outbox relay lag',
    load: async () => (await import('./bus-benchmark.ts')).runBusBenchmark,
  },
];
