/**
 * wrk (Debian's `wrk` package) as the load generator: written in C, it spends 2–3× less CPU per
 * request than autocannon, so on this 2-core machine more of the second core is left to the
 * servers under test. A Lua script sets method, headers and body, and its `done()` prints one
 * JSON line with the counts and latency percentiles (wrk measures in µs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkTarget {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface WrkResult {
  /** Responses received, whatever their status. */
  requests: number;
  durationSec: number;
  /** Responses with a status ≥ 400 (wrk's `errors.status`). */
  non2xx: number;
  /** Connect, read and write errors. */
  errors: number;
  timeouts: number;
  /** Of every response, in ms. */
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
}

let installed: boolean | undefined;

/** Whether a `wrk` binary answers on the PATH (checked once). */
export function wrkInstalled(): boolean {
  if (installed === undefined) {
    const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
    // wrk --version prints its banner and exits 1; a missing binary gives ENOENT.
    installed = probe.error === undefined;
  }
  return installed;
}

/** A Lua long string that no JSON body or header can close early. */
function luaString(value: string): string {
  let level = 1;
  while (value.includes(`]${'='.repeat(level)}]`)) level++;
  const equals = '='.repeat(level);
  return `[${equals}[${value}]${equals}]`;
}

const resultMarker = '@@wrk-result';

function script(target: WrkTarget): string {
  const lines = [`wrk.method = ${luaString(target.method ?? 'GET')}`];
  for (const [name, value] of Object.entries(target.headers ?? {})) lines.push(`wrk.headers[ ${luaString(name)} ] = ${luaString(value)}`);
  if (target.body !== undefined) lines.push(`wrk.body = ${luaString(target.body)}`);
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format("\\n${resultMarker} %d %d %d %d %d %d %d %f %d %d %d %d\\n",`,
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * One wrk run of `durationSec` (whole seconds, at least 1) with `connections` connections on
 * `threads` threads (1 by default: one thread drives > 50k req/s, more than any server here).
 */
export async function runWrk(target: WrkTarget, options: { durationSec: number; connections: number; threads?: number }): Promise<WrkResult> {
  const dir = await mkdtemp(join(tmpdir(), 'carshare-wrk-'));
  try {
    const scriptFile = join(dir, 'request.lua');
    await writeFile(scriptFile, script(target));
    const threads = Math.max(1, Math.min(options.threads ?? 1, options.connections));
    const durationSec = Math.max(1, Math.round(options.durationSec));
    const child = spawn('wrk', ['-t', String(threads), '-c', String(options.connections), '-d', `${durationSec}s`, '--timeout', '10s', '-s', scriptFile, target.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    const line = stdout.split('\n').find((candidate) => candidate.startsWith(resultMarker));
    if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}): ${(stderr || stdout).slice(0, 500)}`);
    const [requests, durationUs, connect, read, write, status, timeout, mean, p50, p90, p99, max] = line.slice(resultMarker.length).trim().split(' ').map(Number) as number[];
    return {
      requests: requests as number,
      durationSec: (durationUs as number) / 1e6,
      non2xx: status as number,
      errors: (connect as number) + (read as number) + (write as number),
      timeouts: timeout as number,
      latencyMs: { mean: (mean as number) / 1000, p50: (p50 as number) / 1000, p90: (p90 as number) / 1000, p99: (p99 as number) / 1000, max: (max as number) / 1000 },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
