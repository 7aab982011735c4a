import { createInterface } from 'node:readline';
import { startInspectorProfiler, type InspectorProfiler } from './inspector-profiler.ts';

/**
 * The child side of spawnChildServer: a server script calls `announceReady` once it listens
 * and `closeWithParent` so it never outlives the benchmark, even when the parent is killed.
 */
export function announceReady(info: Record<string, unknown>): void {
  // The one line the parent waits for; logs must go to stderr so they cannot be mistaken for it.
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
}

/**
 * Commands the parent may send on stdin, one per line: `profile-start` and `profile-stop <file>`
 * bracket a CPU profile of exactly the measured run (not start-up, not warm-up); the child
 * answers `{"ack": verb}` on stdout once it is done (the profiler runs, the file is written).
 */
async function obey(command: string, state: { profiler?: InspectorProfiler }): Promise<void> {
  const [verb, argument] = command.split(' ', 2);
  if (verb === 'profile-start') {
    state.profiler ??= await startInspectorProfiler();
    await state.profiler.start();
  } else if (verb === 'profile-stop' && argument && state.profiler) {
    await state.profiler.stop(argument);
  } else {
    throw new Error(`unknown command: ${command}`);
  }
  process.stdout.write(`${JSON.stringify({ ack: verb })}\n`);
}

/**
 * Closes on SIGTERM/SIGINT or when stdin ends. The parent holds our stdin open, so a parent that
 * dies in any way (even SIGKILL) ends it, and the child follows instead of staying as an orphan.
 */
export function closeWithParent(close: () => Promise<void>, graceMs = 5_000): void {
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), graceMs).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('closing failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  const state: { profiler?: InspectorProfiler } = {};
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    obey(line.trim(), state).catch((error: unknown) => console.error(`command ${line} failed:`, error));
  });
  lines.on('close', shutdown);
}
