import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A moment of a start, in ms since the command was spawned. */
export interface StartMark {
  label: string;
  at: number;
}

export interface PlatformRunOptions {
  /** Repository root to run in. */
  cwd: string;
  /** e.g. ['npm', 'start'] or [process.execPath, 'scripts/start.mjs', 'up']. */
  command: readonly string[];
  dataDir: string;
  gatewayPort: number;
  env?: Readonly<Record<string, string>>;
  /** Longest wait for the ready line (a cold start builds the bundle and creates the database). */
  timeoutMs?: number;
}

export interface PlatformRun {
  /** The node process that holds the data dir (not npm's). */
  pid: number;
  marks: StartMark[];
  /** Spawn → `carshare: ready in` line. */
  readyLineMs: number;
  /** Spawn → first 200 from the gateway's /health/ready. */
  healthReadyMs: number;
  /**
   * CPU time (user + system, all threads) the node process had used when /health/ready answered:
   * what a start costs whatever else the machine is doing, where wall times grow with its load.
   */
  nodeCpuMs: number;
  output: () => string;
  stop: () => Promise<void>;
}

/** Variables that would switch the platform off its embedded adapters or change its logs. */
const inheritedButDropped = ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'S3_ENDPOINT', 'ETCD_ENDPOINTS', 'CARSHARE_CONFIG', 'LOG_LEVEL', 'LOG_PRETTY', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT'];

export function embeddedEnvironment(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of inheritedButDropped) if (!(name in extra)) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name];
  return env;
}

interface StartupTrace {
  processStart: number;
  entered: number;
  bundleChecked: number;
  bundleBuilt: number;
  built: boolean;
}

const now = () => performance.timeOrigin + performance.now();

/**
 * Starts `carshare up` (through npm or not), timestamps its progress lines, the startup trace of
 * scripts/start.mjs (CARSHARE_STARTUP_TRACE=1) and each service's "Server listening" log, and
 * resolves once /health/ready answers 200.
 */
export async function startPlatform(options: PlatformRunOptions): Promise<PlatformRun> {
  const spawnedAt = now();
  const [file, ...args] = options.command as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: options.cwd,
    detached: true, // its own process group: npm, sh and node stop together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: embeddedEnvironment({ CARSHARE_DATA_DIR: options.dataDir, GATEWAY_PORT: String(options.gatewayPort), CARSHARE_STARTUP_TRACE: '1', ...options.env }),
  });
  const marks: StartMark[] = [];
  const mark = (label: string, epochMs = now()) => marks.push({ label, at: epochMs - spawnedAt });
  let output = '';
  let readyLine = false;
  const onLine = (line: string) => {
    if (line.startsWith('carshare-startup ')) {
      const trace = JSON.parse(line.slice('carshare-startup '.length)) as StartupTrace;
      mark('npm + shell', trace.processStart);
      mark('node boot', trace.entered);
      mark('bundle check', trace.bundleChecked);
      mark('bundle build', trace.bundleBuilt);
      return;
    }
    if (line.startsWith('carshare: starting the embedded platform')) mark('module loading');
    else if (/^carshare: (opening|creating) the embedded database/.test(line)) mark('config + observability');
    else if (line.startsWith('carshare: database ready')) mark('database open');
    else if (line.startsWith('carshare: ready in')) {
      mark('ready line');
      readyLine = true;
    } else {
      const starting = /^carshare: starting the (\S+) service/.exec(line);
      if (starting) mark(`${starting[1]} starting`);
      else if (line.startsWith('{') && line.includes('Server listening at')) {
        const log = JSON.parse(line) as { service?: string; time?: string | number };
        const at = typeof log.time === 'number' ? log.time : log.time ? Date.parse(log.time) : now();
        mark(`${log.service ?? '?'} listening`, at);
      }
    }
  };
  let pending = '';
  const onData = (chunk: Buffer) => {
    pending += chunk.toString();
    output += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        onLine(line);
      } catch {
        // a line that only looked like ours
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = () => stopGroup(child, exited);

  try {
    const deadline = spawnedAt + (options.timeoutMs ?? 120_000);
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    while (!readyLine) {
      if (exitCode !== undefined) throw new Error(`carshare up exited ${exitCode} before it was ready:\n${output}`);
      if (now() > deadline) throw new Error(`no ready line in time:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const readyLineMs = (marks.find((entry) => entry.label === 'ready line') as StartMark).at;
    for (;;) {
      const answer = await fetch(`http://127.0.0.1:${options.gatewayPort}/health/ready`).catch(() => undefined);
      await answer?.body?.cancel();
      if (answer?.status === 200) break;
      if (now() > deadline) throw new Error(`/health/ready never answered 200:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    mark('/health/ready answers');
    const healthReadyMs = now() - spawnedAt;
    const pid = Number.parseInt(readFileSync(join(options.dataDir, 'carshare-sql.lock'), 'utf8'), 10);
    marks.sort((a, b) => a.at - b.at);
    return { pid, marks, readyLineMs, healthReadyMs, nodeCpuMs: cpuMsOf(pid), output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** utime + stime of a process, from /proc (clock ticks of 10 ms on Linux). */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function stopGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  const group = -(child.pid as number);
  // Signal 0 only asks whether any process of the group is still there.
  const signal = (name: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(group, name);
      return true;
    } catch {
      return false; // gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  // npm exits as soon as it has passed the signal on, while node is still closing and holding the
  // data dir's lock: the next run then failed with DATA_DIR_IN_USE on a loaded machine. Done only
  // when the whole group is.
  const deadline = Date.now() + 10_000;
  while (signal(0)) {
    if (Date.now() > deadline) signal('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Consecutive marks as named segments: each segment is named by the mark that ends it. */
export function segmentsOf(marks: readonly StartMark[]): { label: string; ms: number }[] {
  const segments: { label: string; ms: number }[] = [];
  let previous = 0;
  for (const entry of marks) {
    segments.push({ label: segmentName(entry.label, marks), ms: Math.max(0, entry.at - previous) });
    previous = Math.max(previous, entry.at);
  }
  return segments;
}

function segmentName(label: string, marks: readonly StartMark[]): string {
  const starting = /^(\S+) starting$/.exec(label);
  if (starting) {
    const firstService = marks.find((entry) => entry.label.endsWith(' starting'));
    if (firstService?.label === label) return 'event bus';
    if (starting[1] === 'gateway') return 'seeding demo data';
    return `before ${starting[1]}`;
  }
  const listening = /^(\S+) listening$/.exec(label);
  if (listening) return `${listening[1]} service start`;
  return label;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
