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
    name: 'peers',
    description: 'CPU µs and GC promoted bytes per request: ours (GetUser, /v1/me embedded and distributed) beside NestJS TCP, Moleculer TCP and bare fastify',
    load: async () => (await import('./peers/peers-benchmark.ts')).runPeersBenchmark,
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
  {
    name: 'startup',
    description: 'cold and warm `npm start` to /health/ready, medians, and where the time goes (npm, bundle, modules, database, services, seeding)',
    load: async () => (await import('./startup/startup-benchmark.ts')).runStartupBenchmark,
  },
  {
    name: 'memory',
    description: 'idle RSS of `carshare up` with 2 and 8 services (6 generated), by component (V8 heap, PGlite WASM, native, code), and the budget check',
    load: async () => (await import('./memory/memory-benchmark.ts')).runMemoryBenchmark,
  },
  {
    name: 'fleet',
    description: '10,000 simulated cars: telemetry ingest over MQTT, nearby p99 at 32 connections, live-feed latency to 500 riders, beside a bare aedes rate',
    load: async () => (await import('./fleet/fleet-benchmark.ts')).runFleetBenchmark,
  },
  {
    name: 'analytics',
    description: 'analytics lag p99 (event occurred → in the views) at 2,000 events/s embedded, and rebuild events/s from the archive (100k; --full: 1 million)',
    load: async () => (await import('./analytics/analytics-benchmark.ts')).runAnalyticsBenchmark,
  },
  {
    name: 'trips',
    description: 'start→finish trips/s and p99 through the gateway (riders and cars through the public API), embedded and with --database-url/--amqp-url, beside the bare RPC hop',
    load: async () => (await import('./trips/trips-benchmark.ts')).runTripsBenchmark,
  },
];
