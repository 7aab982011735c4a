import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ChildServer<Info> {
  /** What the child announced on its first stdout line. */
  info: Info;
  pid: number;
  /** Starts a CPU profile in the child (see child-protocol.ts). */
  startProfile(): Promise<void>;
  /** Stops it and has the child write it to `file`. */
  stopProfile(file: string): Promise<void>;
  /** SIGTERM, then SIGKILL after the grace time; resolves once the process is gone. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();

// Last line of defence: whatever happens to the parent, its children go with it.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGKILL');
    process.exit(130);
  });
}

/**
 * Variables that would switch a child from the embedded topology (PGlite, memory rate limits,
 * no collector) to real infrastructure or another config: a developer's or CI's shell often has
 * them, and a benchmark must not silently measure something else.
 */
export const topologyVariables = [
  'DATABASE_URL',
  'REDIS_URL',
  'AMQP_URL',
  'S3_ENDPOINT',
  'ETCD_ENDPOINTS',
  'CARSHARE_CONFIG',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_TRACES_SAMPLER_ARG',
  'LOG_LEVEL',
  'LOG_PRETTY',
] as const;

/** This process's environment without `topologyVariables`, plus `extra`. */
export function embeddedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of topologyVariables) delete env[name];
  return { ...env, ...extra };
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child);
    return;
  }
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
    live.delete(child);
  }
}

/**
 * Runs `node --import tsx <script> <args…>` in its own process, so the server under test does not
 * share an event loop (and a core) with the load generator, and waits for the one JSON line the
 * script prints when it listens (see child-protocol.ts). stderr is passed through for its logs.
 * The child's environment is `embeddedEnv(options.env)`.
 */
export async function spawnChildServer<Info>(
  script: string,
  args: readonly string[] = [],
  options: { startTimeoutMs?: number; graceMs?: number; nodeArgs?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildServer<Info>> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: embeddedEnv(options.env),
  });
  live.add(child);
  const graceMs = options.graceMs ?? 10_000;
  const awaitingAck = new Map<string, () => void>();
  const command = (line: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const verb = line.split(' ', 1)[0] as string;
      const timer = setTimeout(() => reject(new Error(`${script} did not acknowledge ${verb}`)), 30_000);
      awaitingAck.set(verb, () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin?.write(`${line}\n`);
    });
  try {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const info = await new Promise<Info>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not announce itself within ${options.startTimeoutMs ?? 60_000} ms`)), options.startTimeoutMs ?? 60_000);
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`${script} exited (${signal ?? code}) before it was ready`)));
      lines.on('line', (line) => {
        try {
          const message = JSON.parse(line) as { ready?: unknown; ack?: unknown };
          if (message.ready === true) {
            clearTimeout(timer);
            resolve(message as Info);
            return;
          }
          if (typeof message.ack === 'string') {
            awaitingAck.get(message.ack)?.();
            awaitingAck.delete(message.ack);
            return;
          }
        } catch {
          // Not our line: pass it on below.
        }
        process.stderr.write(`[${script}] ${line}\n`);
      });
    });
    return {
      info,
      pid: child.pid as number,
      startProfile: () => command('profile-start'),
      stopProfile: (file) => command(`profile-stop ${file}`),
      stop: () => stopChild(child, graceMs),
    };
  } catch (error) {
    await stopChild(child, 1_000);
    throw error;
  }
}

/** `measuredRun` hooks for measureLoad that profile the child during the measured run only. */
export function profileMeasuredRun(child: ChildServer<unknown>, file: string): { before(): Promise<void>; after(): Promise<void> } {
  return { before: () => child.startProfile(), after: () => child.stopProfile(file) };
}
