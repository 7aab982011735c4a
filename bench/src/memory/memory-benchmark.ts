import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { laptopServiceKeys, serviceIdentityHeader, ServiceIdentitySigner } from '@carshare/platform';
import { freePort, linkWorkspaces, scratchCopy } from '@carshare/testing';
import { atMost, formatGoal, type BenchmarkRun } from '../benchmark.ts';
import { writeBenchGatewayConfig } from '../gateway/bench-gateway-config.ts';
import { startPlatform, type PlatformRun } from '../startup/platform-run.ts';
import { repoRoot } from '../spawn-child-server.ts';

const probe = pathToFileURL(join(import.meta.dirname, 'memory-probe.mjs')).href;
const mb = (bytes: number) => bytes / 1048576;

/** What the probe in the process reports (memory-probe.mjs). */
interface ProbeReport {
  memoryUsage: NodeJS.MemoryUsage;
  heapSpaces: Record<string, { physical: number; used: number }>;
  heap: { totalPhysical: number; malloced: number; peakMalloced: number; external: number };
  code: Record<string, number>;
  wasmMemoryBytes: number[];
}

export interface MemorySample {
  services: number;
  rssMb: number;
  /** RSS by component, MB; they add up to rssMb. */
  components: Record<string, number>;
  /** V8 spaces' physical size, MB. */
  heapSpacesMb: Record<string, number>;
  arrayBuffersMb: number;
}

/** `node <flags> scripts/start.mjs up` as the root package.json's start script runs it (npm adds nothing to the process). */
function startCommand(root: string): string[] {
  const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const [runner, ...args] = script.split(/\s+/).filter(Boolean);
  if (runner !== 'node') throw new Error(`the start script does not run node directly: ${script}`);
  const extra = (process.env['BENCH_NODE_ARGS'] ?? '').split(/\s+/).filter(Boolean);
  return [process.execPath, '--import', probe, ...extra, ...args];
}

function statusKb(pid: number): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (match) fields[match[1] as string] = Number(match[2]);
  }
  return fields;
}

/** Resident KB of the anonymous mappings exactly as large as a WebAssembly.Memory (PGlite's linear memory). */
function wasmResidentKb(pid: number, sizes: readonly number[]): number {
  let total = 0;
  let current: { size: number; anonymous: boolean } | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      current = { size: Number.parseInt(header[2] as string, 16) - Number.parseInt(header[1] as string, 16), anonymous: (header[3] ?? '') === '' };
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current?.anonymous && sizes.includes(current.size)) total += Number(rss[1]);
  }
  return total;
}

async function probeOf(run: PlatformRun): Promise<ProbeReport> {
  const before = run.output().length;
  process.kill(run.pid, 'SIGUSR2');
  for (let waited = 0; waited < 5000; waited += 20) {
    const line = /carshare-memory (\{.*\})\n/.exec(run.output().slice(before));
    if (line) return JSON.parse(line[1] as string) as ProbeReport;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the memory probe did not answer');
}

/** How many services the started platform runs: the internal ones it lists, and the edge. */
function servicesOf(run: PlatformRun): number {
  const listed = /^carshare: services (.+)$/m.exec(run.output())?.[1] ?? '';
  return [...listed.matchAll(/(\w+) http:\/\//g)].length + 1;
}

async function sample(run: PlatformRun, services: number): Promise<MemorySample> {
  const report = await probeOf(run);
  const status = statusKb(run.pid);
  const rss = (status['VmRSS'] ?? 0) / 1024;
  const fileBacked = ((status['RssFile'] ?? 0) + (status['RssShmem'] ?? 0)) / 1024;
  const wasm = wasmResidentKb(run.pid, report.wasmMemoryBytes) / 1024;
  const heap = mb(report.heap.totalPhysical);
  return {
    services,
    rssMb: rss,
    components: {
      'V8 heap (JS objects, bytecode, JIT code)': heap,
      'PGlite WASM linear memory (resident)': wasm,
      'native (malloc: WASM compiled code, Buffers, V8 zones, libuv)': Math.max(0, rss - fileBacked - heap - wasm),
      'file-backed (node binary, shared libraries, addons)': fileBacked,
    },
    heapSpacesMb: Object.fromEntries(Object.entries(report.heapSpaces).filter(([, space]) => space.physical > 0).map(([name, space]) => [name, mb(space.physical)])),
    arrayBuffersMb: mb(report.memoryUsage.arrayBuffers),
  };
}

async function post(url: string, body: unknown, identity?: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(identity && { [serviceIdentityHeader]: identity }) }, body: JSON.stringify(body) });
}

/** Traffic through every service, so lazily built parts (schemas, pools, JIT) exist before the idle sample. */
async function warmUp(run: PlatformRun, gatewayPort: number, requests: number): Promise<void> {
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  const login = await post(`${gateway}/v1/auth/login`, { email: 'rider@carshare.local', password: 'rider-demo-pass' });
  if (login.status !== 200) throw new Error(`demo rider login: ${login.status} ${await login.text()}`);
  const { user, tokens } = (await login.json()) as { user: { id: string; plan: string }; tokens: { accessToken: string } };
  // A service's RPC port answers the gateway's signed identity, not the user's token (ADR 0012).
  const asGateway = new ServiceIdentitySigner('gateway', laptopServiceKeys());
  const rider = { userId: user.id, role: 'rider' as const, plan: user.plan };
  for (let i = 0; i < requests; i++) await (await fetch(`${gateway}/v1/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } })).arrayBuffer();
  const listed = /^carshare: services (.+)$/m.exec(run.output())?.[1] ?? '';
  for (const [, name, url] of listed.matchAll(/(\w+) (http:\/\/[^\s,]+)/g)) {
    // Only the generated services have the template's CreateItem and ListItems; the real ones
    // (car, trip, …) get their traffic from /v1/me and their own start-up.
    if (name === undefined || !generatedNames.includes(name)) continue;
    for (let i = 0; i < 10; i++) {
      const created = await post(`${url}/rpc/${name}/CreateItem`, { name: `item ${i}` }, asGateway.identityFor(name, rider));
      if (created.status !== 200) throw new Error(`${name} CreateItem: ${created.status} ${await created.text()}`);
      await (await post(`${url}/rpc/${name}/ListItems`, { limit: 10 }, asGateway.identityFor(name, rider))).arrayBuffer();
    }
  }
}

async function measure(root: string, idleSec: number, samples: number, requests: number): Promise<MemorySample> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carshare-memory-data-'));
  const gatewayPort = await freePort();
  // Rate limits on, out of reach: the demo rider's plan would answer the warm-up with 429s.
  const env = { CARSHARE_CONFIG: await writeBenchGatewayConfig(dataDir) };
  try {
    // Once to create the database: its first-start memory (initdb) is not the idle figure.
    const first = await startPlatform({ cwd: root, command: startCommand(root), dataDir, gatewayPort, env, timeoutMs: 300_000 });
    await first.stop();
    const run = await startPlatform({ cwd: root, command: startCommand(root), dataDir, gatewayPort, env });
    try {
      await warmUp(run, gatewayPort, requests);
      const taken: MemorySample[] = [];
      for (let i = 0; i < samples; i++) {
        await new Promise((resolve) => setTimeout(resolve, (idleSec * 1000) / samples));
        taken.push(await sample(run, servicesOf(run)));
      }
      // The median sample by RSS, whole (its components add up).
      return [...taken].sort((a, b) => a.rssMb - b.rssMb)[Math.floor(taken.length / 2)] as MemorySample;
    } finally {
      await run.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const generatedNames = ['spareone', 'sparetwo', 'sparethree', 'sparefour', 'sparefive', 'sparesix'];

/**
 * `npm run bench -- memory [--idle S] [--samples N] [--requests N] [--budget MB] [--added N]`: idle
 * RSS of `carshare up` as `npm start` runs it (the start script's node flags; BENCH_NODE_ARGS adds
 * more), i.e. every registered service, by component, against the budget (issue 9: eight services
 * under 350 MB). Then, in the same scratch copy, with `--added` (6; 0 skips it) more services
 * generated by scripts/new-service.ts, for what one more service costs and how many fit.
 */
export const runMemoryBenchmark: BenchmarkRun = async (options) => {
  const idleSec = Number(options.flags['idle'] ?? 10);
  const samples = Math.max(1, Math.round(Number(options.flags['samples'] ?? 5)));
  const requests = Math.max(1, Math.round(Number(options.flags['requests'] ?? 500)));
  const budgetMb = Number(options.flags['budget'] ?? 350);
  const added = Math.max(0, Math.min(generatedNames.length, Math.round(Number(options.flags['added'] ?? generatedNames.length))));
  const loadBefore = loadavg()[0] as number;
  const root = scratchCopy(repoRoot, 'carshare-memory-');
  try {
    const today = await measure(root, idleSec, samples, requests);
    let more: MemorySample | undefined;
    if (added > 0) {
      execFileSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', `const { generateService } = await import('./scripts/new-service.ts'); for (const name of ${JSON.stringify(generatedNames.slice(0, added))}) generateService(process.cwd(), name);`],
        { cwd: root, stdio: 'inherit' },
      );
      linkWorkspaces(root);
      more = await measure(root, idleSec, samples, requests);
    }
    const perServiceMb = more ? (more.rssMb - today.rssMb) / (more.services - today.services) : Number.NaN;
    const loadAfter = loadavg()[0] as number;

    const goals = [atMost(`idle RSS, npm start's ${today.services} services (MB)`, today.rssMb, budgetMb)];
    const column = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-').padStart(8);
    const componentNames = Object.keys(today.components);
    const spaceNames = [...new Set([...Object.keys(today.heapSpacesMb), ...Object.keys(more?.heapSpacesMb ?? {})])];
    const moreLabel = more ? `+${more.services - today.services} gen` : '';
    const perService = (name: string) => (more ? ((more.components[name] ?? 0) - (today.components[name] ?? 0)) / (more.services - today.services) : Number.NaN);
    const lines = [
      `memory: idle RSS after ${requests} requests and ${idleSec} s idle (median of ${samples} samples); load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}`,
      `start command: ${startCommand(root).slice(3).join(' ') || '(none)'}${process.env['BENCH_NODE_ARGS'] ? ` (BENCH_NODE_ARGS: ${process.env['BENCH_NODE_ARGS']})` : ''}`,
      `npm start: ${today.services} services${more ? `; then ${more.services - today.services} more generated by new-service (${more.services} in all)` : ''}`,
      '',
      `${'MB'.padEnd(62)}${`${today.services} svc`.padStart(8)}${moreLabel.padStart(8)}${'/added'.padStart(8)}`,
      `${'RSS'.padEnd(62)}${column(today.rssMb)}${column(more?.rssMb ?? Number.NaN)}${column(perServiceMb)}`,
      ...componentNames.map((name) => `  ${name.padEnd(60)}${column(today.components[name] ?? 0)}${column(more?.components[name] ?? Number.NaN)}${column(perService(name))}`),
      `  V8 spaces:`,
      ...spaceNames.map((name) => `    ${name.padEnd(58)}${column(today.heapSpacesMb[name] ?? 0)}${column(more?.heapSpacesMb[name] ?? Number.NaN)}`),
      `  ArrayBuffers (inside native)`.padEnd(62) + `${column(today.arrayBuffersMb)}${column(more?.arrayBuffersMb ?? Number.NaN)}`,
      '',
      `budget ${budgetMb} MB for npm start's ${today.services} services: ${(budgetMb - today.rssMb).toFixed(1)} MB to spare` +
        (more ? `; an added (generated) service costs ${perServiceMb.toFixed(1)} MB, so ~${Math.max(0, Math.floor((budgetMb - today.rssMb) / perServiceMb))} more fit` : ''),
      '',
      ...goals.map((goal) => formatGoal(goal, 40, 1)),
    ];
    return { results: { idleSec, samples, requests, budgetMb, loadBefore, loadAfter, today, more, perServiceMb }, goals, summary: lines.join('\n') };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
