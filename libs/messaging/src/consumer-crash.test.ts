import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { ConsumerCrashChildOptions } from '../scripts/consumer-crash-child.ts';
import { contractEvent, eventually } from './event-bus.contract.ts';
import { MemoryDeadLetterStore } from './memory-dead-letter-store.ts';
import { RabbitMqEventBus } from './rabbitmq-event-bus.ts';
import { deleteTestTopology, uniquePrefix } from './rabbitmq-test-topology.ts';
import { temporaryDirectory } from './test-database.ts';

const url = process.env.AMQP_URL;
const childScript = join(import.meta.dirname, '..', 'scripts', 'consumer-crash-child.ts');
const total = 400;

interface Child {
  process: ChildProcess;
  handling: Set<string>;
  handled: Set<string>;
  ready: boolean;
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(options: ConsumerCrashChildOptions): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const state: Child = {
    process: child,
    handling: new Set(),
    handled: new Set(),
    ready: false,
    stderr: [],
    exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = JSON.parse(line) as { ready?: boolean; handling?: string; handled?: string };
    if (parsed.ready) state.ready = true;
    if (parsed.handling) state.handling.add(parsed.handling);
    if (parsed.handled) state.handled.add(parsed.handled);
  });
  child.stderr.on('data', (chunk: Buffer) => state.stderr.push(chunk.toString()));
  return state;
}

/**
 * A consumer process SIGKILLed while handlers are running must not lose the events they were
 * handling: the broker gets them back because they were not acknowledged yet. A consumer that
 * acknowledged on receipt (before its handler ran) fails here: the in-flight events are gone.
 * In-process this does not apply: the embedded bus holds events in the dying process's memory
 * by design (README, "Embedded caveat"), so there is nothing to acknowledge.
 */
if (!url) {
  describe('consumer crash (RabbitMQ)', () => {
    it('needs a broker: set AMQP_URL to run', { skip: 'AMQP_URL is not set' }, () => {});
  });
} else {
  describe('consumer crash (RabbitMQ)', () => {
    const prefix = uniquePrefix('consumer-crash');
    const group = 'crash-consumer';
    let publisher: RabbitMqEventBus;
    const children: Child[] = [];

    before(async () => {
      publisher = await RabbitMqEventBus.connect({ url, prefix, name: 'consumer-crash-publisher' });
    });

    after(async () => {
      for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
      try {
        await deleteTestTopology(url, publisher, [group], ['crash']);
      } finally {
        await publisher.close();
      }
    });

    it(`handles all ${total} events although a consumer is SIGKILLed with handlers in flight`, async (t) => {
      const dir = await temporaryDirectory('consumer-crash-');
      try {
        const options: ConsumerCrashChildOptions = { amqpUrl: url, prefix, group, effectsFile: join(dir.path, 'effects'), handlingMs: 25, concurrency: 16 };
        // The group's queues exist before anything is published, so every event is queued for it.
        const declare = await publisher.subscribe(group, ['crash.*'], async () => {}, { deadLetters: new MemoryDeadLetterStore() });
        await declare.close();
        const first = startChild(options);
        children.push(first);
        await eventually('the first consumer to be ready', () => first.ready || first.process.exitCode !== null, 60_000);
        assert.ok(first.ready, `the first consumer did not start: ${first.stderr.join('')}`);

        const events = Array.from({ length: total }, (_, index) => contractEvent(`car-${index % 40}`, { index }, 'crash.happened'));
        for (let index = 0; index < total; index += 50) await publisher.publish(events.slice(index, index + 50));

        const inFlight = (child: Child): string[] => [...child.handling].filter((id) => !child.handled.has(id));
        await eventually('the first consumer to be mid-way with handlers running', () => first.handled.size >= 100 && inFlight(first).length >= 4, 60_000);
        const interrupted = inFlight(first);
        first.process.kill('SIGKILL');
        assert.equal((await first.exited).signal, 'SIGKILL');

        const second = startChild(options);
        children.push(second);
        const effects = async (): Promise<Set<string>> => new Set((await readFile(options.effectsFile, 'utf8')).split('\n').filter(Boolean));
        await eventually('every event to have its effect', async () => (await effects()).size >= total, 60_000).catch(() => undefined);
        const applied = await effects();
        const missing = events.filter((event) => !applied.has(event.id));
        const lostInFlight = interrupted.filter((id) => !applied.has(id));
        assert.deepEqual(lostInFlight, [], `events whose handler the kill interrupted (${interrupted.length}) must come back`);
        assert.equal(missing.length, 0, `${missing.length} of ${total} events never handled`);
        second.process.kill('SIGTERM');
        await second.exited;
        t.diagnostic(`killed with ${interrupted.length} handlers in flight; all ${total} effects present`);
      } finally {
        await dir.remove();
      }
    });
  });
}
