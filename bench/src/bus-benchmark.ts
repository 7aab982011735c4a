import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { busBenchGoals, measureBus } from '@carshare/messaging/bench';
import { atLeast, atMost, formatGoal, type BenchmarkRun } from './benchmark.ts';

/**
 * Issue 3's numbers: publish→consume throughput and p99 for the in-process and RabbitMQ buses
 * (persistent, confirmed), and outbox relay lag at 500 events/s. RabbitMQ and PostgreSQL are
 * measured when `--amqp-url` / `--database-url` are given (or AMQP_URL / DATABASE_URL are set):
 *
 *   npm run bench -- bus --amqp-url amqp://guest:guest@127.0.0.1:5672 --database-url postgres://postgres@127.0.0.1:5432/test [--contend]
 *
 * `--contend` keeps every core busy with a separate process for the whole run (one spinning
 * thread per core), so the numbers show what a loaded machine does to the relay's tail.
 */
export const runBusBenchmark: BenchmarkRun = async (options) => {
  const flag = (name: string): string | undefined => (typeof options.flags[name] === 'string' ? (options.flags[name] as string) : undefined);
  const contend = options.flags['contend'] !== undefined;
  const contenders = contend ? startContention(availableParallelism()) : [];
  let result: Awaited<ReturnType<typeof measureBus>>;
  try {
    result = await measureBus({
      amqpUrl: flag('amqp-url') ?? process.env.AMQP_URL,
      databaseUrl: flag('database-url') ?? process.env.DATABASE_URL,
      log: (line) => process.stderr.write(`· ${line}\n`),
    });
  } finally {
    for (const child of contenders) child.kill('SIGKILL');
  }
  const worstLag = Math.max(...result.relay.map((relay) => relay.p99LagMs));
  const goals = [
    atLeast('in-process events/s', result.inProcess.eventsPerSecond, busBenchGoals.inProcessEventsPerSecond),
    ...(result.rabbitMq ? [atLeast('RabbitMQ events/s', result.rabbitMq.eventsPerSecond, busBenchGoals.rabbitMqEventsPerSecond)] : []),
    atMost('outbox relay lag p99 ms', worstLag, busBenchGoals.relayLagP99Ms),
  ];
  const throughput = [result.inProcess, ...(result.rabbitMq ? [result.rabbitMq] : [])].map(
    (run) => `  ${run.adapter.padEnd(11)} ${Math.round(run.eventsPerSecond).toLocaleString('en').padStart(9)} events/s   p50 ${run.p50LatencyMs} ms   p99 ${run.p99LatencyMs} ms   (${run.events.toLocaleString('en')} events)`,
  );
  const relays = result.relay.map(
    (relay) =>
      `  ${`${relay.engine}→${relay.bus}`.padEnd(22)} ${relay.ratePerSecond}/s   lag p50 ${relay.p50LagMs} ms   p99 ${relay.p99LagMs} ms   max ${relay.maxLagMs} ms   (p99 pick-up ${relay.p99PickupMs} ms, writer's commit ${relay.p99CommitMs} ms, confirm ${relay.p99ConfirmMs} ms)`,
  );
  const summary = [
    `bus benchmark: publish → consume${contend ? ` (--contend: ${contenders.length} spinning processes beside it)` : ''}`,
    ...throughput,
    ...(result.rabbitMq ? [] : ['  rabbitmq    not measured: pass --amqp-url amqp://guest:guest@127.0.0.1:5672']),
    'outbox relay lag',
    ...relays,
    '',
    'goals',
    ...goals.map((goal) => `  ${formatGoal(goal, 30, 0)}`),
  ].join('\n');
  return { results: { ...result, contend }, summary, goals };
};

/** One process per core spinning at 100 % until killed. */
function startContention(cores: number): ChildProcess[] {
  return Array.from({ length: cores }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}
