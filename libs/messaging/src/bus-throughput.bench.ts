/**
 * Bus micro-benchmark: publish→consume throughput and latency for both adapters (RabbitMQ with
 * persistent messages and publisher confirms), and outbox relay lag at a steady write rate.
 * `npm run bench -- bus` calls measureBus(); run alone with
 *
 *   node --import tsx libs/messaging/src/bus-throughput.bench.ts   (AMQP_URL / DATABASE_URL optional)
 */
import { pathToFileURL } from 'node:url';
import type { EventEnvelope } from '@carshare/contracts';
import { uuidV7Ids } from '@carshare/platform';
import { sql } from 'kysely';
import { eventList, type EventBus } from './event-bus.ts';
import { InProcessEventBus } from './in-process-event-bus.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';
import { Outbox } from './outbox.ts';
import { OutboxRelay } from './outbox-relay.ts';
import { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
import { openTestDatabase } from './test-database.ts';

export interface MeasureBusOptions {
  /** Events per adapter run; default 200 000 in-process, 30 000 over RabbitMQ. */
  inProcessEvents?: number;
  rabbitMqEvents?: number;
  /** RabbitMQ is measured only when given. */
  amqpUrl?: string;
  /** The relay runs on PostgreSQL when given, else on PGlite in memory. */
  databaseUrl?: string;
  /** Outbox writes per second for the relay-lag run; default 500. */
  relayRate?: number;
  relayDurationMs?: number;
  log?: (line: string) => void;
}

export interface ThroughputResult {
  adapter: 'in-process' | 'rabbitmq';
  events: number;
  eventsPerSecond: number;
  /** Publish call to handler start, measured while publishing flat out (a bounded backlog). */
  p50LatencyMs: number;
  p99LatencyMs: number;
}

export interface RelayLagResult {
  engine: 'pglite' | 'postgres';
  bus: 'in-process' | 'rabbitmq';
  ratePerSecond: number;
  events: number;
  /** occurredAt (commit time of the state change) to the bus accepting the event. */
  p50LagMs: number;
  p99LagMs: number;
  maxLagMs: number;
  /** Where the lag goes: occurredAt → the relay handing the event to the bus (pick-up) … */
  p99PickupMs: number;
  /** … and that hand-over → the bus accepting it (broker confirm for RabbitMQ). */
  p99ConfirmMs: number;
  /**
   * Part of the pick-up that is the writer's own: occurredAt → its commit returned. No relay can
   * see a row before that, so a busy machine's slow commits show here and not in the relay.
   */
  p99CommitMs: number;
}

export interface BusBenchResult {
  inProcess: ThroughputResult;
  rabbitMq?: ThroughputResult;
  relay: RelayLagResult[];
  goals: { inProcessEventsPerSecond: number; rabbitMqEventsPerSecond: number; relayLagP99Ms: number };
}

export const busBenchGoals = { inProcessEventsPerSecond: 50_000, rabbitMqEventsPerSecond: 5000, relayLagP99Ms: 200 };

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] as number;
}

const round = (value: number): number => Math.round(value * 100) / 100;

function benchEvent(index: number): EventEnvelope {
  return {
    id: uuidV7Ids.next(),
    type: 'bench.measured',
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'bench',
    subject: `subject-${index % 1024}`,
    data: { sentAt: performance.now() },
  };
}

/**
 * Publishes `total` events in batches, keeping at most `window` unconsumed, into a consumer on
 * `consumerBus`; returns throughput and publish-to-handler latency.
 */
async function measureThroughput(
  adapter: ThroughputResult['adapter'],
  publisher: EventBus,
  consumerBus: EventBus,
  total: number,
  batch: number,
  window: number,
  parallelBatches: number,
): Promise<ThroughputResult> {
  const latencies = new Float64Array(total);
  let consumed = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let published = 0;
  let waiting: Array<() => void> = [];
  const group = `bench-${adapter}-${process.pid}`;
  const subscription = await consumerBus.subscribe(
    group,
    ['bench.*'],
    async (event) => {
      latencies[consumed] = performance.now() - (event.data as { sentAt: number }).sentAt;
      consumed += 1;
      if (waiting.length > 0 && published - consumed < window) {
        const wake = waiting;
        waiting = [];
        for (const resolve of wake) resolve();
      }
      if (consumed === total) finish();
    },
    { deadLetters: new MemoryDeadLetterStore(), concurrency: 64 },
  );
  const started = performance.now();
  const publishLoop = async (): Promise<void> => {
    while (published < total) {
      while (published - consumed >= window) await new Promise<void>((resolve) => waiting.push(resolve));
      const size = Math.min(batch, total - published);
      const events = Array.from({ length: size }, (_, index) => benchEvent(published + index));
      published += size;
      await publisher.publish(events);
    }
  };
  await Promise.all(Array.from({ length: parallelBatches }, () => publishLoop()));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await subscription.close();
  if (publisher instanceof RabbitMqEventBus) await publisher.deleteGroup(group);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    adapter,
    events: total,
    eventsPerSecond: Math.round(total / seconds),
    p50LatencyMs: round(percentile(sorted, 0.5)),
    p99LatencyMs: round(percentile(sorted, 0.99)),
  };
}

/** Writes state changes with outbox rows at `rate` per second and records when the bus got each. */
async function measureRelayLag(options: { databaseUrl?: string; amqpUrl?: string; rate: number; durationMs: number }): Promise<RelayLagResult> {
  const testDb = await openTestDatabase({ databaseUrl: options.databaseUrl });
  await sql`create table bench_state (id serial primary key, subject text not null)`.execute(testDb.database.db);
  const lags: number[] = [];
  const commits: number[] = [];
  const pickups: number[] = [];
  const confirms: number[] = [];
  let rabbit: RabbitMqEventBus | undefined;
  const group = 'bench-relay';
  if (options.amqpUrl) {
    rabbit = await RabbitMqEventBus.connect({ url: options.amqpUrl, prefix: `bench-${process.pid}-relay` });
    // A group bound to the family, as in production: the events go into durable queues (the
    // broker confirms after persisting them), not into the unrouted queue or nowhere.
    const bound = await rabbit.subscribe(group, ['bench.*'], async () => {}, { deadLetters: new MemoryDeadLetterStore() });
    await bound.close();
  }
  const target: Pick<EventBus, 'publish'> = rabbit ?? new InProcessEventBus();
  const bus: Pick<EventBus, 'publish'> = {
    async publish(events) {
      const handedOver = Date.now();
      await target.publish(events);
      const now = Date.now();
      for (const event of eventList(events)) {
        const occurred = Date.parse(event.occurredAt);
        lags.push(now - occurred);
        pickups.push(handedOver - occurred);
        confirms.push(now - handedOver);
      }
    },
  };
  const outbox = new Outbox();
  const relay = new OutboxRelay({ database: testDb.database, bus, outbox, concurrentRelays: testDb.kind === 'postgres' });
  relay.start();
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const write = async (event: EventEnvelope): Promise<void> => {
    let occurred = 0;
    await testDb.database.transaction(async (trx) => {
      await sql`insert into bench_state (subject) values (${event.subject})`.execute(trx);
      occurred = Date.now();
      await outbox.add(trx, { ...event, occurredAt: new Date(occurred).toISOString() });
    });
    commits.push(Date.now() - occurred);
  };
  try {
    // Steady state only: the first publish also opens channels and declares the exchange.
    for (let index = 0; index < 20; index += 1) await write(benchEvent(index));
    while (lags.length < 20) await new Promise((resolve) => setTimeout(resolve, 5));
    lags.length = 0;
    commits.length = 0;
    pickups.length = 0;
    confirms.length = 0;
    const started = performance.now();
    for (let index = 0; index < total; index += 1) {
      const due = started + (index * 1000) / options.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      await write(benchEvent(index));
    }
    const deadline = Date.now() + 30_000;
    while (lags.length < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    await relay.stop();
    if (rabbit) {
      await rabbit.deleteGroup(group).catch(() => undefined);
      await deleteBenchTopology(rabbit);
      await rabbit.close();
    }
    await testDb.close();
  }
  const sorted = [...lags].sort((a, b) => a - b);
  return {
    engine: testDb.kind,
    bus: rabbit ? 'rabbitmq' : 'in-process',
    ratePerSecond: options.rate,
    events: lags.length,
    p50LagMs: round(percentile(sorted, 0.5)),
    p99LagMs: round(percentile(sorted, 0.99)),
    maxLagMs: round(sorted.at(-1) ?? Number.NaN),
    p99PickupMs: round(percentile([...pickups].sort((a, b) => a - b), 0.99)),
    p99ConfirmMs: round(percentile([...confirms].sort((a, b) => a - b), 0.99)),
    p99CommitMs: round(percentile([...commits].sort((a, b) => a - b), 0.99)),
  };
}

/** What a bench bus declared besides its groups: the family exchange, poison and unrouted. */
async function deleteBenchTopology(bus: RabbitMqEventBus): Promise<void> {
  const channel = await bus.channel();
  try {
    await channel.deleteExchange(bus.names.family('bench'));
    await channel.deleteQueue(bus.names.poisonQueue());
    await channel.deleteExchange(bus.names.poisonExchange());
    await channel.deleteQueue(bus.names.unroutedQueue());
    await channel.deleteExchange(bus.names.unroutedExchange());
  } finally {
    await channel.close().catch(() => undefined);
  }
}

export async function measureBus(options: MeasureBusOptions = {}): Promise<BusBenchResult> {
  const log = options.log ?? (() => {});
  const inProcessBus = new InProcessEventBus();
  log('bus: in-process throughput…');
  const inProcess = await measureThroughput('in-process', inProcessBus, inProcessBus, options.inProcessEvents ?? 200_000, 500, 2000, 1);
  await inProcessBus.close();
  log(`bus: in-process ${inProcess.eventsPerSecond} events/s, latency p50 ${inProcess.p50LatencyMs} ms, p99 ${inProcess.p99LatencyMs} ms`);

  let rabbitMq: ThroughputResult | undefined;
  if (options.amqpUrl) {
    log('bus: RabbitMQ throughput (persistent, confirmed)…');
    const prefix = `bench-${process.pid}`;
    const publisher = await RabbitMqEventBus.connect({ url: options.amqpUrl, prefix, name: 'bench-publisher' });
    const consumer = await RabbitMqEventBus.connect({ url: options.amqpUrl, prefix, name: 'bench-consumer' });
    try {
      rabbitMq = await measureThroughput('rabbitmq', publisher, consumer, options.rabbitMqEvents ?? 30_000, 100, 1000, 4);
    } finally {
      await consumer.close();
      await deleteBenchTopology(publisher).catch(() => undefined);
      await publisher.close();
    }
    log(`bus: RabbitMQ ${rabbitMq.eventsPerSecond} events/s, latency p50 ${rabbitMq.p50LatencyMs} ms, p99 ${rabbitMq.p99LatencyMs} ms`);
  }

  const rate = options.relayRate ?? 500;
  const durationMs = options.relayDurationMs ?? 10_000;
  const relay: RelayLagResult[] = [];
  log(`bus: outbox relay lag at ${rate} events/s…`);
  relay.push(await measureRelayLag({ databaseUrl: options.databaseUrl, rate, durationMs }));
  if (options.amqpUrl) relay.push(await measureRelayLag({ databaseUrl: options.databaseUrl, amqpUrl: options.amqpUrl, rate, durationMs }));
  for (const result of relay) {
    log(`bus: relay ${result.engine}→${result.bus} lag p50 ${result.p50LagMs} ms, p99 ${result.p99LagMs} ms, max ${result.maxLagMs} ms (p99 pick-up ${result.p99PickupMs} ms of which writer's commit ${result.p99CommitMs} ms, confirm ${result.p99ConfirmMs} ms)`);
  }
  return { inProcess, ...(rabbitMq ? { rabbitMq } : {}), relay, goals: busBenchGoals };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await measureBus({
    amqpUrl: process.env.AMQP_URL,
    databaseUrl: process.env.DATABASE_URL,
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(result, null, 2));
}
