import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The monorepo root, so children start where `node --import tsx` finds tsx and the workspaces. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** `node --import tsx apps/carshare/src/main.ts`: the CLI exactly as an operator runs it. */
export const carshareCommand: readonly string[] = [process.execPath, '--import', 'tsx', 'apps/carshare/src/main.ts'];

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface ChildOptions {
  /** Appended to `command`; for the CLI that is e.g. `['service', 'user']`. */
  args: readonly string[];
  /** Executable and its leading arguments; the carshare CLI unless given. */
  command?: readonly string[];
  /** Laid over this process's environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export interface SpawnServiceOptions extends ChildOptions {
  /** Names the process in errors and output dumps. */
  name: string;
  /** Base URL; start-up waits until `GET <readyUrl>/health/ready` answers 200. */
  readyUrl?: string;
  /** Bound for readiness. Default 30 s: a cold tsx start plus PGlite init is ~5 s on 2 cores. */
  readyTimeoutMs?: number;
  /** How long SIGTERM gets to drain before SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
}

/** A child that did not start or finish as asked; it has been stopped by the time this is thrown. */
export class ChildProcessError extends Error {
  readonly pid: number;
  readonly output: readonly OutputLine[];

  constructor(message: string, pid: number, output: readonly OutputLine[]) {
    super(message);
    this.name = 'ChildProcessError';
    this.pid = pid;
    this.output = output;
  }
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedService {
  readonly name: string;
  readonly pid: number;
  readonly url: string | undefined;
  /** stdout and stderr, line by line, in arrival order. */
  readonly output: readonly OutputLine[];
  /** Settles when the process has exited, for whatever reason. */
  readonly exited: Promise<ExitStatus>;
  /** The last lines of output, for failure messages. */
  tail(lines?: number): string;
  /** Resolves with the first output line (past or future) that matches. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL after the grace period; idempotent; resolves once the process is gone. */
  dispose(): Promise<ExitStatus>;
  [Symbol.asyncDispose](): Promise<void>;
}

// Anything still alive when the test process exits is killed, so a crashed or timed-out test
// never leaves a service holding a port or a database.
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAll);
  // A test runner that times a file out sends it a signal, and 'exit' does not run on signal death:
  // kill the children, then let the signal do what it would have done without this listener.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function childEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Set by `node --test` for its own workers; a child that inherits it talks the runner's protocol.
  delete env['NODE_TEST_CONTEXT'];
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

interface Started {
  child: ChildProcess;
  output: OutputLine[];
  listeners: Set<(line: string) => void>;
  exited: Promise<ExitStatus>;
}

function start(options: ChildOptions): Started {
  const [executable, ...leading] = options.command ?? carshareCommand;
  if (executable === undefined) throw new Error('command is empty');
  const child = spawn(executable, [...leading, ...options.args], {
    cwd: options.cwd ?? repoRoot,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  installExitHook();
  const output: OutputLine[] = [];
  const listeners = new Set<(line: string) => void>();
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    const source = child[stream];
    source?.setEncoding('utf8');
    source?.on('data', (chunk: string) => {
      const pieces = (partial + chunk).split('\n');
      partial = pieces.pop() ?? '';
      for (const text of pieces) {
        output.push({ stream, text });
        for (const listener of listeners) listener(text);
      }
    });
    source?.on('end', () => {
      if (partial !== '') {
        output.push({ stream, text: partial });
        for (const listener of listeners) listener(partial);
      }
    });
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      live.delete(child);
      resolve({ code, signal });
    };
    // 'close' waits for stdio to drain, so `output` is complete when this settles.
    child.once('close', finish);
    child.once('error', (error) => {
      output.push({ stream: 'stderr', text: `spawn failed: ${error.message}` });
      finish(null, null);
    });
  });
  return { child, output, listeners, exited };
}

function tailOf(output: readonly OutputLine[], lines: number): string {
  return output
    .slice(-lines)
    .map((line) => `  ${line.stream === 'stderr' ? '!' : '|'} ${line.text}`)
    .join('\n');
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/health/ready', url), { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess, exited: Promise<ExitStatus>, graceMs: number): Promise<ExitStatus> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    if ((await Promise.race([exited, graceOver])) === 'late') child.kill('SIGKILL');
    clearTimeout(timer);
  }
  return exited;
}

/**
 * Starts a long-running process (by default the carshare CLI), captures its output line by
 * line and, given `readyUrl`, resolves only once its readiness probe answers 200. If it exits
 * or misses the bound first, it is killed and the promise rejects with its last output.
 * Callers register `dispose()` (e.g. in `after`) right away, so a failing test still stops it.
 */
export async function spawnService(options: SpawnServiceOptions): Promise<SpawnedService> {
  const { child, output, listeners, exited } = start(options);
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  let stopping: Promise<ExitStatus> | undefined;
  const dispose = () => (stopping ??= stop(child, exited, stopTimeoutMs));

  const service: SpawnedService = {
    name: options.name,
    pid: child.pid ?? -1,
    url: options.readyUrl,
    output,
    exited,
    tail: (lines = 40) => tailOf(output, lines),
    waitForLine(match, timeoutMs) {
      const test = typeof match === 'function' ? match : (line: string) => match.test(line);
      const seen = output.find((line) => test(line.text));
      if (seen) return Promise.resolve(seen.text);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(new Error(`${options.name}: no matching output line within ${timeoutMs} ms; last output:\n${tailOf(output, 40)}`));
        }, timeoutMs);
        const listener = (line: string) => {
          if (!test(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        listeners.add(listener);
      });
    },
    dispose,
    async [Symbol.asyncDispose]() {
      await dispose();
    },
  };

  if (options.readyUrl === undefined) return service;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  let exitedEarly: ExitStatus | undefined;
  void exited.then((status) => {
    exitedEarly = status;
  });
  // Polling with a bounded deadline: the service gives no other signal that it is ready.
  let pause = 25;
  while (!(await isReady(options.readyUrl))) {
    if (exitedEarly) {
      throw new ChildProcessError(
        `${options.name} exited (code ${exitedEarly.code}, signal ${exitedEarly.signal}) before it was ready; last output:\n${tailOf(output, 40)}`,
        service.pid,
        output,
      );
    }
    if (Date.now() >= deadline) {
      await dispose();
      throw new ChildProcessError(
        `${options.name} was not ready at ${options.readyUrl} within ${readyTimeoutMs} ms; last output:\n${tailOf(output, 40)}`,
        service.pid,
        output,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 250);
  }
  return service;
}

export interface CompletedRun extends ExitStatus {
  stdout: string;
  stderr: string;
  output: readonly OutputLine[];
}

/**
 * Runs a one-off command (`carshare migrate`, `carshare admin create …`) to completion and
 * returns its exit status and output. Killed, and rejected, when it outlives `timeoutMs`.
 */
export async function runCommand(options: ChildOptions & { timeoutMs?: number }): Promise<CompletedRun> {
  const { child, output, exited } = start(options);
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  const outcome = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (outcome === 'late') {
    await stop(child, exited, 2_000);
    throw new ChildProcessError(
      `${[...(options.command ?? ['carshare']), ...options.args].join(' ')} did not finish within ${timeoutMs} ms; last output:\n${tailOf(output, 40)}`,
      child.pid ?? -1,
      output,
    );
  }
  const text = (stream: OutputLine['stream']) =>
    output
      .filter((line) => line.stream === stream)
      .map((line) => line.text)
      .join('\n');
  return { ...outcome, stdout: text('stdout'), stderr: text('stderr'), output };
}
