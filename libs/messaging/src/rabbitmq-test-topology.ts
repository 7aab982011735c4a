import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import type { RabbitMqEventBus } from './rabbitmq-event-bus.ts';

const runCommand = promisify(execFile);

/**
 * A prefix no other test run uses, so suites can run side by side on one broker. It starts with
 * `test-<run>-`, the run id `npm test` sets (CARSHARE_TEST_RUN), so its end-of-run check can tell
 * this run's leftovers from other runs' objects.
 */
export function uniquePrefix(label: string): string {
  const run = process.env.CARSHARE_TEST_RUN ?? `p${process.pid}`;
  return `test-${run}-${label}-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Deletes what a test created: its groups (through the bus), family exchanges and the poison queue. */
export async function deleteTestTopology(url: string, bus: RabbitMqEventBus | undefined, groups: string[], families: string[]): Promise<void> {
  if (bus) for (const group of groups) await bus.deleteGroup(group);
  const prefix = bus?.names.prefix;
  if (!prefix) return;
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    for (const family of families) await channel.deleteExchange(bus.names.family(family));
    await channel.deleteQueue(bus.names.poisonQueue());
    await channel.deleteExchange(bus.names.poisonExchange());
    await channel.deleteQueue(bus.names.unroutedQueue());
    await channel.deleteExchange(bus.names.unroutedExchange());
    await channel.close();
  } finally {
    await connection.close();
  }
}

/**
 * Makes the broker close the connections that announced `name` (as a network cut or a broker
 * restart would, from the client's side). Needs rabbitmqctl on this host; false when missing.
 */
export async function closeConnectionsNamed(name: string): Promise<boolean> {
  let listing: string;
  try {
    // The table form: JSON shows pids in a form close_connection does not accept.
    ({ stdout: listing } = await runCommand('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers'], { timeout: 30_000 }));
  } catch {
    return false;
  }
  const pids = listing
    .split('\n')
    .filter((line) => line.includes(`"${name}"`))
    .map((line) => line.split('\t')[0] ?? '');
  for (const pid of pids) await runCommand('rabbitmqctl', ['close_connection', pid, 'closed by a test'], { timeout: 30_000 });
  return pids.length > 0;
}

/** Whether this host can restart the broker (rabbitmqctl present and allowed). */
export async function brokerCanRestart(): Promise<boolean> {
  try {
    await runCommand('rabbitmqctl', ['status'], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Restarts the RabbitMQ application (`stop_app`, `downMs` of absence, `start_app`) and waits
 * until it serves again. The Erlang node stays up, so the broker is never left stopped; other
 * suites on this broker see a short outage, which is why only drills call this.
 */
export async function restartBroker(options: { downMs: number }): Promise<void> {
  try {
    await runCommand('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
    if (options.downMs > 0) await new Promise((resolve) => setTimeout(resolve, options.downMs));
  } finally {
    await ensureBrokerRunning();
  }
}

/** Starts the RabbitMQ application if it is stopped and waits until it accepts connections. */
export async function ensureBrokerRunning(): Promise<void> {
  await runCommand('rabbitmqctl', ['start_app'], { timeout: 60_000 }).catch(() => undefined);
  await runCommand('rabbitmqctl', ['await_startup'], { timeout: 60_000 }).catch(() => undefined);
}
