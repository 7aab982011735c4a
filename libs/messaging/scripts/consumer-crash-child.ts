/**
 * The consumer the consumer-crash test SIGKILLs mid-handling. It joins a consumer group on
 * RabbitMQ; each handled event leaves its effect as a line in `effectsFile` (appended, so it
 * survives the kill), and progress goes to stdout as JSON lines: `{ handling }` when a handler
 * starts, `{ handled }` once its effect is written.
 *
 *   node --import tsx consumer-crash-child.ts '<json ConsumerCrashChildOptions>'
 */
import { appendFileSync } from 'node:fs';
import { MemoryDeadLetterStore } from '../src/memory-dead-letter-store.ts';
import { RabbitMqEventBus } from '../src/rabbitmq-event-bus.ts';

export interface ConsumerCrashChildOptions {
  amqpUrl: string;
  prefix: string;
  group: string;
  effectsFile: string;
  /** How long a handler works before its effect is written: the window the kill lands in. */
  handlingMs: number;
  concurrency: number;
}

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const options = JSON.parse(process.argv[2] ?? '{}') as ConsumerCrashChildOptions;
const bus = await RabbitMqEventBus.connect({ url: options.amqpUrl, prefix: options.prefix, name: `consumer-crash-${process.pid}`, rebalanceIntervalMs: 100 });
await bus.subscribe(
  options.group,
  ['crash.*'],
  async (event) => {
    say({ handling: event.id });
    await new Promise((resolve) => setTimeout(resolve, options.handlingMs));
    appendFileSync(options.effectsFile, `${event.id}\n`);
    say({ handled: event.id });
  },
  { deadLetters: new MemoryDeadLetterStore(), concurrency: options.concurrency },
);
say({ ready: true });
process.on('SIGTERM', () => {
  void bus.close().then(() => process.exit(0));
});
