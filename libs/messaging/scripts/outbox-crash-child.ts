/**
 * The process the outbox crash test kills. It makes `total` state changes, each committed with
 * its event in the outbox, while a relay publishes them; a successor started on the same data
 * dir (or schema) finishes what is left. Progress goes to stdout as JSON lines.
 *
 *   node --import tsx outbox-crash-child.ts '<json CrashChildOptions>'
 *
 * Sinks: `sql` delivers each published event straight into a consumer (inbox + `received`
 * table in another schema of the same database) and resolves once that commit is done, a
 * stand-in for a durable broker that survives the kill without needing one; `rabbitmq`
 * publishes to a real broker, consumed by the test process.
 */
import type { EventEnvelope } from '@carshare/contracts';
import { uuidV7Ids } from '@carshare/platform';
import { openSqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { eventList, type EventBus } from '../src/event-bus.ts';
import { Inbox } from '../src/inbox.ts';
import { migrateMessagingTables } from '../src/messaging-tables.ts';
import { Outbox } from '../src/outbox.ts';
import { OutboxRelay } from '../src/outbox-relay.ts';
import { RabbitMqEventBus } from '../src/rabbitmq-event-bus.ts';

export interface CrashChildOptions {
  dataDir: string;
  databaseUrl?: string;
  producerSchema: string;
  consumerSchema: string;
  total: number;
  sink: 'sql' | 'rabbitmq';
  amqpUrl?: string;
  prefix?: string;
  batchSize: number;
  /** SIGKILL itself right after the bus accepted this many events, before they are marked sent. */
  killAfterPublished?: number;
  /**
   * Stop relaying (hang) once this many events are out, so the parent's SIGKILL lands mid-relay
   * however fast or slow the machine is, with work left for the successors.
   */
  holdAfterPublished?: number;
}

export const crashConsumerGroup = 'crash-consumer';

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const options = JSON.parse(process.argv[2] ?? '{}') as CrashChildOptions;
const engine = await openSqlEngine({ databaseUrl: options.databaseUrl, dataDir: options.dataDir });
const producer = engine.forService(options.producerSchema);
await migrateMessagingTables(producer);
await sql`create table if not exists ride (idx integer primary key, event_id uuid not null)`.execute(producer.db);

let bus: Pick<EventBus, 'publish'>;
let closeBus = async (): Promise<void> => {};
if (options.sink === 'sql') {
  const consumer = engine.forService(options.consumerSchema);
  await migrateMessagingTables(consumer);
  await sql`create table if not exists received (event_id uuid primary key, idx integer not null)`.execute(consumer.db);
  const inbox = new Inbox({ database: consumer });
  const handle = inbox.handler(
    async (event, trx) => {
      await sql`insert into received (event_id, idx) values (${event.id}::uuid, ${(event.data as { idx: number }).idx})`.execute(trx);
    },
    { onDuplicate: (event) => say({ duplicate: event.id }) },
  );
  bus = {
    async publish(events) {
      for (const event of eventList(events)) {
        await handle(event, { group: crashConsumerGroup, attempt: 1, maxAttempts: 1, traceparent: undefined });
      }
    },
  };
} else {
  if (!options.amqpUrl || !options.prefix) throw new Error('the rabbitmq sink needs amqpUrl and prefix');
  const rabbit = await RabbitMqEventBus.connect({ url: options.amqpUrl, prefix: options.prefix, name: 'crash-child', publishTimeoutMs: 60_000 });
  bus = rabbit;
  closeBus = () => rabbit.close();
}

let published = 0;
const counting: Pick<EventBus, 'publish'> = {
  async publish(events) {
    await bus.publish(events);
    published += eventList(events).length;
    say({ published });
    if (options.killAfterPublished !== undefined && published >= options.killAfterPublished) {
      // Accepted by the sink, not yet marked sent: the successor must publish these again.
      process.kill(process.pid, 'SIGKILL');
    }
    if (options.holdAfterPublished !== undefined && published >= options.holdAfterPublished) {
      say({ holding: published });
      await new Promise<never>(() => undefined);
    }
  },
};

const outbox = new Outbox();
const relay = new OutboxRelay({
  database: producer,
  bus: counting,
  outbox,
  concurrentRelays: engine.kind === 'postgres',
  batchSize: options.batchSize,
  idlePollMs: 20,
});
relay.start();

const { rows: done } = await sql<{ idx: number }>`select idx from ride`.execute(producer.db);
const written = new Set(done.map((row) => row.idx));
for (let idx = 0; idx < options.total; idx += 1) {
  if (written.has(idx)) continue;
  const event: EventEnvelope = {
    id: uuidV7Ids.next(),
    type: 'crash.ride_changed',
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'crash-child',
    subject: `ride-${idx % 17}`,
    data: { idx },
  };
  await producer.transaction(async (trx) => {
    await sql`insert into ride (idx, event_id) values (${idx}, ${event.id}::uuid)`.execute(trx);
    await outbox.add(trx, event);
  });
  if (idx % 100 === 0) say({ written: idx });
}
say({ written: options.total });

while ((await relay.pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
await relay.stop();
say({ done: true, published });
await closeBus();
await engine.close();
