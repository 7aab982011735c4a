import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { GcTrace } from './gc-trace.ts';

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
  /** The child's GC, when it was started with `traceGc` (`--trace-gc-nvp`). */
  gc: GcTrace | undefined;
}

/** The monorepo root: where `node --import tsx` finds tsx and the workspaces. */
export const repoRoot = resolve(import.meta.dirname, '..', '..');

/**
 * How long a child may take to say it is ready. The embedded platform starts in ~2 s on a quiet
 * machine but took 57 s here at load average 30 (other sessions' builds on 2 cores): a minute
 * failed whole benchmark runs before anything was measured.
 */
const defaultStartTimeoutMs = 180_000;

export interface SpawnOptions {
  startTimeoutMs?: number;
  graceMs?: number;
  /** Node options before the script (e.g. `--max-semi-space-size=…`). */
  nodeArgs?: readonly string[];
  /** Laid over `embeddedEnv()`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Starts node with `--trace-gc-nvp` and reads its GC lines into `gc` (they are not echoed):
   * promoted bytes per request, the benchmarks' GC regression guard.
   */
  traceGc?: boolean;
  /** Run the script through tsx (default); false for plain JavaScript that must not load it (the peers). */
  tsx?: boolean;
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

/**
 * This process's environment without `topologyVariables`, plus `extra`. The car service's device
 * gateway (MQTT) listens on any free port: its default 1884 is taken by whatever platform already
 * runs on the machine, and a benchmark must not fail for that.
 */
export function embeddedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of topologyVariables) delete env[name];
  return { ...env, CAR_MQTT_PORT: '0', ...extra };
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

interface Launched {
  child: ChildProcess;
  gc: GcTrace | undefined;
  /** Every stdout line that is not a GC trace line. */
  lines: AsyncLineSource;
}

type LineListener = (line: string) => void;

/** stdout lines of a child, GC lines taken out; lines that nobody claims go to our stderr. */
class AsyncLineSource {
  readonly #listeners = new Set<LineListener>();

  constructor(child: ChildProcess, gc: GcTrace | undefined, label: string) {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (gc?.accept(line)) return;
      if (this.#listeners.size === 0) {
        process.stderr.write(`[${label}] ${line}\n`);
        return;
      }
      for (const listener of this.#listeners) listener(line);
    });
  }

  on(listener: LineListener): void {
    this.#listeners.add(listener);
  }
}

function launch(argv: readonly string[], label: string, options: SpawnOptions, cwd?: string): Launched {
  const child = spawn(process.execPath, [...(options.traceGc ? ['--trace-gc-nvp'] : []), ...(options.nodeArgs ?? []), ...argv], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: embeddedEnv(options.env),
    ...(cwd !== undefined && { cwd }),
  });
  live.add(child);
  const gc = options.traceGc ? new GcTrace() : undefined;
  return { child, gc, lines: new AsyncLineSource(child, gc, label) };
}

/**
 * Runs `node --import tsx <script> <args…>` in its own process, so the server under test does not
 * share an event loop (and a core) with the load generator, and waits for the one JSON line the
 * script prints when it listens (see child-protocol.ts). stderr is passed through for its logs.
 * The child's environment is `embeddedEnv(options.env)`.
 */
export async function spawnChildServer<Info>(script: string, args: readonly string[] = [], options: SpawnOptions = {}): Promise<ChildServer<Info>> {
  const { child, gc, lines } = launch([...(options.tsx === false ? [] : ['--import', 'tsx']), script, ...args], script, options);
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
    const info = await new Promise<Info>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} did not announce itself within ${options.startTimeoutMs ?? defaultStartTimeoutMs} ms`)), options.startTimeoutMs ?? defaultStartTimeoutMs);
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`${script} exited (${signal ?? code}) before it was ready`)));
      lines.on((line) => {
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
      gc,
      startProfile: () => command('profile-start'),
      stopProfile: (file) => command(`profile-stop ${file}`),
      stop: () => stopChild(child, graceMs),
    };
  } catch (error) {
    await stopChild(child, 1_000);
    throw error;
  }
}

/**
 * One service of the distributed topology exactly as an operator starts it,
 * `node --import tsx apps/carshare/src/main.ts service <name>` from the repository root,
 * configured by `options.env` (over `embeddedEnv()`), ready once `GET <url>/health/ready`
 * answers 200. Its stdout (JSON log lines) goes to our stderr; profiling is not available.
 */
export async function spawnCarshareService(name: string, url: string, options: SpawnOptions = {}): Promise<ChildServer<{ url: string }>> {
  const label = `carshare service ${name}`;
  const { child, gc } = launch(['--import', 'tsx', 'apps/carshare/src/main.ts', 'service', name], label, options, repoRoot);
  const graceMs = options.graceMs ?? 10_000;
  const deadline = Date.now() + (options.startTimeoutMs ?? defaultStartTimeoutMs);
  try {
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = String(signal ?? code)));
    for (;;) {
      if (exited !== undefined) throw new Error(`${label} exited (${exited}) before it was ready`);
      if (Date.now() > deadline) throw new Error(`${label} was not ready at ${url}/health/ready within ${options.startTimeoutMs ?? defaultStartTimeoutMs} ms`);
      const ready = await fetch(`${url}/health/ready`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const unsupported = (): Promise<void> => Promise.reject(new Error(`${label}: profiling is not available for CLI services`));
    return { info: { url }, pid: child.pid as number, gc, startProfile: unsupported, stopProfile: unsupported, stop: () => stopChild(child, graceMs) };
  } catch (error) {
    await stopChild(child, 1_000);
    throw error;
  }
}

/** `measuredRun` hooks for measureLoad that profile the child during the measured run only. */
export function profileMeasuredRun(child: ChildServer<unknown>, file: string): { before(): Promise<void>; after(): Promise<void> } {
  return { before: () => child.startProfile(), after: () => child.stopProfile(file) };
}
