import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import type { CrashChildOptions } from '../scripts/outbox-crash-child.ts';
import { eventually } from './event-bus.contract.ts';
import { Inbox } from './inbox.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';
import { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
import { deleteTestTopology, uniquePrefix } from './rabbitmq-test-topology.ts';
import { openTestDatabase, temporaryDirectory } from './test-database.ts';

const childScript = join(import.meta.dirname, '..', 'scripts', 'outbox-crash-child.ts');
const total = 1000;

interface Child {
  process: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string[];
}

function startChild(options: CrashChildOptions): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr.push(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { process: child, lines, exited, stderr };
}

const lastPublished = (child: Child): number =>
  Math.max(0, ...child.lines.filter((line) => typeof line.published === 'number').map((line) => line.published as number));

const duplicatesIn = (children: Child[]): number => children.flatMap((child) => child.lines).filter((line) => 'duplicate' in line).length;

/**
 * Three lives of one producer: the first is SIGKILLed by us in the middle of relaying, the second
 * SIGKILLs itself right after the sink accepted a batch and before the batch is marked sent (the
 * window that must yield a duplicate, never a loss), the third finishes.
 */
async function threeLives(base: Omit<CrashChildOptions, 'killAfterPublished' | 'holdAfterPublished'>): Promise<Child[]> {
  const first = startChild({ ...base, holdAfterPublished: 300 });
  await eventually('the first child to be relaying', () => lastPublished(first) >= 300 || first.process.exitCode !== null, 120_000);
  assert.equal(first.process.exitCode, null, `the first child ended before it could be killed: ${first.stderr.join('')}`);
  first.process.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');

  const second = startChild({ ...base, killAfterPublished: base.batchSize * 2 });
  const secondEnd = await second.exited;
  assert.equal(secondEnd.signal, 'SIGKILL', `the second child should have killed itself: ${second.stderr.join('')}`);

  const third = startChild(base);
  const thirdEnd = await third.exited;
  assert.equal(thirdEnd.code, 0, `the last child failed: ${third.stderr.join('')}`);
  assert.ok(third.lines.some((line) => line.done === true));
  return [first, second, third];
}

async function dropSchemas(databaseUrl: string, schemas: string[]): Promise<void> {
  const cleaner = await openSqlEngine({ databaseUrl, dataDir: 'memory://' });
  try {
    const db = cleaner.forService(schemas[0] as string).db;
    for (const schema of schemas) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  } finally {
    await cleaner.close();
  }
}

const engines: Array<{ kind: string; databaseUrl?: string }> = [{ kind: 'PGlite' }];
if (process.env.DATABASE_URL) engines.push({ kind: 'PostgreSQL', databaseUrl: process.env.DATABASE_URL });

describe('outbox crash safety', () => {
  for (const engine of engines) {
    it(`delivers all ${total} committed events through SIGKILLs, duplicates absorbed by the inbox (${engine.kind}, SQL sink)`, async (t) => {
      const dir = await temporaryDirectory('outbox-crash-');
      const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
      const base = {
        dataDir: join(dir.path, 'pgdata'),
        databaseUrl: engine.databaseUrl,
        producerSchema: `crash_producer_${suffix}`,
        consumerSchema: `crash_consumer_${suffix}`,
        total,
        sink: 'sql' as const,
        batchSize: 25,
      };
      try {
        const children = await threeLives(base);
        // The successor is gone too: read its database independently.
        const verifier = await openSqlEngine({ databaseUrl: engine.databaseUrl, dataDir: base.dataDir });
        try {
          const producer = verifier.forService(base.producerSchema);
          const consumer = verifier.forService(base.consumerSchema);
          const { rows: rides } = await sql<{ event_id: string }>`select event_id from ride`.execute(producer.db);
          const { rows: received } = await sql<{ event_id: string }>`select event_id from received`.execute(consumer.db);
          const { rows: inbox } = await sql<{ count: number }>`select count(*)::int as count from inbox`.execute(consumer.db);
          const { rows: pending } = await sql<{ count: number }>`select count(*)::int as count from outbox where sent_at is null`.execute(producer.db);
          assert.equal(rides.length, total, 'every state change committed');
          const missing = rides.filter((ride) => !received.some((row) => row.event_id === ride.event_id));
          assert.deepEqual(missing, [], 'no committed event is missing at the consumer');
          assert.equal(received.length, total, 'each effect applied once');
          assert.equal(Number(inbox[0]?.count), total);
          assert.equal(Number(pending[0]?.count), 0);
          const duplicates = duplicatesIn(children);
          assert.ok(duplicates >= 1, 'the batch accepted before the second kill came again and was skipped');
          t.diagnostic(`${total} delivered; ${duplicates} redeliveries skipped by the inbox`);
        } finally {
          await verifier.close();
        }
      } finally {
        if (engine.databaseUrl) await dropSchemas(engine.databaseUrl, [base.producerSchema, base.consumerSchema]);
        await dir.remove();
      }
    });
  }

  const amqpUrl = process.env.AMQP_URL;
  it(
    `delivers all ${total} committed events through SIGKILLs to a RabbitMQ consumer, duplicates absorbed by its inbox`,
    { skip: amqpUrl ? false : 'AMQP_URL is not set' },
    async (t) => {
      if (!amqpUrl) return;
      const dir = await temporaryDirectory('outbox-crash-mq-');
      const prefix = uniquePrefix('crash');
      const consumerDb = await openTestDatabase();
      await sql`create table received (event_id uuid primary key)`.execute(consumerDb.database.db);
      const consumerBus = await RabbitMqEventBus.connect({ url: amqpUrl, prefix, name: 'crash-consumer', rebalanceIntervalMs: 200 });
      let duplicates = 0;
      const inbox = new Inbox({ database: consumerDb.database });
      const base = {
        dataDir: join(dir.path, 'pgdata'),
        producerSchema: 'crash_producer',
        consumerSchema: 'crash_consumer',
        total,
        sink: 'rabbitmq' as const,
        amqpUrl,
        prefix,
        batchSize: 25,
      };
      try {
        await consumerBus.subscribe(
          'crash-consumer',
          ['crash.*'],
          inbox.handler(
            async (event, trx) => {
              await sql`insert into received (event_id) values (${event.id}::uuid)`.execute(trx);
            },
            { onDuplicate: () => (duplicates += 1) },
          ),
          { deadLetters: new MemoryDeadLetterStore() },
        );
        await threeLives(base);
        const count = async (): Promise<number> =>
          Number((await sql<{ count: number }>`select count(*)::int as count from received`.execute(consumerDb.database.db)).rows[0]?.count);
        await eventually('every event at the consumer', async () => (await count()) >= total, 120_000);
        const verifier = await openSqlEngine({ dataDir: base.dataDir });
        try {
          const { rows: rides } = await sql<{ event_id: string }>`select event_id from ride`.execute(verifier.forService(base.producerSchema).db);
          const { rows: received } = await sql<{ event_id: string }>`select event_id from received`.execute(consumerDb.database.db);
          assert.equal(rides.length, total);
          assert.deepEqual(
            received.map((row) => row.event_id).sort(),
            rides.map((row) => row.event_id).sort(),
            'exactly the committed events, each once',
          );
        } finally {
          await verifier.close();
        }
        await eventually('the republished batch to reach the inbox', () => duplicates >= 1, 30_000);
        t.diagnostic(`${total} delivered over RabbitMQ; ${duplicates} redeliveries skipped by the inbox`);
      } finally {
        await deleteTestTopology(amqpUrl, consumerBus, ['crash-consumer'], ['crash']).catch(() => undefined);
        await consumerBus.close();
        await consumerDb.close();
        await dir.remove();
      }
    },
  );
});
