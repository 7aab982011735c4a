/**
 * What tests left on the shared RabbitMQ: `npm test` (scripts/run-tests.ts) snapshots the
 * broker's queues and exchanges before the run and compares after it. A leftover is an object
 * that did not exist before and still exists after, named with the production prefix
 * (`carshare.`: a test that did not isolate itself) or with this run's test prefix
 * (`test-<run>-…`, from `uniquePrefix`: a test that did not delete what it declared).
 * Listing goes through `rabbitmqctl` because the management plugin is not enabled here; without
 * rabbitmqctl (or without AMQP_URL) the check says it was skipped.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const runCommand = promisify(execFile);

export interface BrokerSnapshot {
  queues: Set<string>;
  exchanges: Set<string>;
}

async function names(kind: 'list_queues' | 'list_exchanges'): Promise<Set<string>> {
  const { stdout } = await runCommand('rabbitmqctl', [kind, 'name', '-q', '--no-table-headers'], { timeout: 60_000 });
  return new Set(stdout.split('\n').map((line) => line.trim()).filter(Boolean));
}

/** The broker's queue and exchange names, or undefined when the broker cannot be listed. */
export async function snapshotBroker(): Promise<BrokerSnapshot | undefined> {
  if (!process.env.AMQP_URL) return undefined;
  try {
    return { queues: await names('list_queues'), exchanges: await names('list_exchanges') };
  } catch {
    return undefined;
  }
}

/** Objects created since `before` and still there, that belong to tests (see above). */
export async function brokerLeftovers(before: BrokerSnapshot, run: string): Promise<string[]> {
  const after = await snapshotBroker();
  if (!after) return [];
  const fromTests = (name: string): boolean => name.startsWith('carshare.') || name.startsWith(`test-${run}-`);
  return [
    ...[...after.queues].filter((name) => !before.queues.has(name) && fromTests(name)).map((name) => `queue ${name}`),
    ...[...after.exchanges].filter((name) => !before.exchanges.has(name) && fromTests(name)).map((name) => `exchange ${name}`),
  ];
}

// As a command, for scripts/run-tests.ts (a child process keeps the test runner free of this
// package's types):  broker-leftovers.ts snapshot <file>   |   broker-leftovers.ts check <file> <run>
if (import.meta.filename === process.argv[1]) {
  const [mode, file, run] = process.argv.slice(2);
  const { readFileSync, writeFileSync } = await import('node:fs');
  if (mode === 'snapshot' && file) {
    const snapshot = await snapshotBroker();
    writeFileSync(file, JSON.stringify(snapshot ? { queues: [...snapshot.queues], exchanges: [...snapshot.exchanges] } : null));
  } else if (mode === 'check' && file && run) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { queues: string[]; exchanges: string[] } | null;
    if (!saved) {
      console.log('RabbitMQ leftover check skipped (no AMQP_URL, or rabbitmqctl cannot list the broker)');
    } else {
      const leftovers = await brokerLeftovers({ queues: new Set(saved.queues), exchanges: new Set(saved.exchanges) }, run);
      if (leftovers.length > 0) {
        console.error(`RabbitMQ objects left behind by tests (${leftovers.length}):\n  ${leftovers.join('\n  ')}`);
        process.exitCode = 1;
      } else {
        console.log('RabbitMQ: no queues or exchanges left behind by tests');
      }
    }
  } else {
    console.error('usage: broker-leftovers.ts snapshot <file> | check <file> <run>');
    process.exitCode = 2;
  }
}
