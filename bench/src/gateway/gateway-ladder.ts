import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serviceIdentityHeader } from '@carshare/platform';
import type { BenchmarkRun } from '../benchmark.ts';
import { measureLoad, type LoadStats, type LoadTarget } from '../measure-load.ts';
import { profileFileFor } from '../profile-files.ts';
import { profileMeasuredRun, spawnChildServer, type ChildServer } from '../spawn-child-server.ts';
import { writeBenchGatewayConfig } from './bench-gateway-config.ts';
import { checkTarget, logInRider, meTarget, rpcTarget, type PlatformInfo } from './gateway-targets.ts';

const scripts = {
  hello: resolve(import.meta.dirname, 'hello-server.ts'),
  ladder: resolve(import.meta.dirname, 'ladder-server.ts'),
  platform: resolve(import.meta.dirname, 'platform-server.ts'),
  hop: resolve(import.meta.dirname, 'hop-server.ts'),
};

interface LadderInfo {
  url: string;
  method: 'GET' | 'POST';
  token?: string;
  /** The signed service identity an RPC rung is called with (ADR 0012). */
  identity?: string;
  body?: string;
}

interface Rung {
  label: string;
  /** The rung this one adds to: its cost is the difference in CPU per request. */
  over?: string;
  stats: LoadStats;
}

function ladderTarget(info: LadderInfo): LoadTarget {
  return {
    url: info.url,
    method: info.method,
    headers: {
      ...(info.token !== undefined && { authorization: `Bearer ${info.token}` }),
      ...(info.identity !== undefined && { [serviceIdentityHeader]: info.identity }),
      ...(info.body !== undefined && { 'content-type': 'application/json' }),
    },
    body: info.body,
  };
}

/** Server CPU per answered request: what bounds throughput once the server's core is full. */
function cpuMicrosPerRequest(stats: LoadStats): number {
  return stats.cpu.server === undefined ? Number.NaN : (stats.cpu.server * 1e6) / stats.requestsPerSec;
}

/**
 * Where /v1/me's time goes, as server CPU µs per request on a ladder of servers that add one
 * layer each (see ladder-server.ts): bare fastify → our HTTP server factory (with and without
 * span sampling) → our RPC server with a stub handler → the real user service with PGlite →
 * the real gateway over the real user service; then, over the stub user service: our server
 * factory in front with a bare undici pool, with our RPC client, and the real gateway module.
 * --profile writes a .cpuprofile of each rung's measured run to bench/results/profiles.
 */
export const runGatewayLadder: BenchmarkRun = async (options) => {
  const startedAt = new Date();
  const common = { durationSec: options.durationSec, warmupSec: options.warmupSec, connections: options.connections };
  const settings = (rung: string, child: ChildServer<unknown>) => ({
    ...common,
    serverPid: child.pid,
    ...(options.flags['profile'] === true && { measuredRun: profileMeasuredRun(child, profileFileFor('ladder', rung, startedAt)) }),
  });
  const rungs = new Map<string, Rung>();
  const workDir = await mkdtemp(join(tmpdir(), 'carshare-ladder-'));
  // PGlite wants a folder of its own; the config file sits beside it.
  const dataDir = join(workDir, 'pgdata');
  const children = new Set<ChildServer<unknown>>();
  const progress = (message: string): void => {
    process.stderr.write(`· ${message}\n`);
  };

  const env = { CARSHARE_CONFIG: await writeBenchGatewayConfig(workDir) };

  async function measure(key: string, label: string, over: string | undefined, script: string, args: string[], target: (info: never) => LoadTarget): Promise<void> {
    progress(label);
    const child = await spawnChildServer<never>(script, args, { env });
    children.add(child);
    try {
      const load = target(child.info);
      await checkTarget(load, () => true, label);
      rungs.set(key, { label, over, stats: await measureLoad(load, settings(key, child)) });
    } finally {
      children.delete(child);
      await child.stop();
    }
  }

  try {
    await measure('fastify', 'bare fastify hello', undefined, scripts.hello, [], (info: { url: string }) => ({ url: info.url }));
    await measure('http0', 'createHttpServer hello, sampling 0', 'fastify', scripts.ladder, ['http-server', '0'], ladderTarget);
    await measure('http1', 'createHttpServer hello, sampling 1', 'http0', scripts.ladder, ['http-server', '1'], ladderTarget);
    await measure('rpc', 'RPC server, stub GetUser', 'http1', scripts.ladder, ['rpc-stub', '1'], ladderTarget);

    progress('real user service + gateway (embedded platform)');
    const platform = await spawnChildServer<PlatformInfo>(scripts.platform, [dataDir], { env });
    children.add(platform);
    try {
      for (const [key, label, over, targetOf] of [
        ['userReal', 'RPC server, real GetUser (c)', 'rpc', rpcTarget],
        ['meReal', 'gateway, real user service (b)', 'userReal', meTarget],
      ] as const) {
        progress(label);
        const target = targetOf(platform.info, await logInRider(platform.info.gatewayUrl));
        await checkTarget(target, () => true, label);
        if (key === 'userReal') {
          // PGlite's WebAssembly and the JIT need ~7 s of traffic before CPU per request settles.
          progress('warming the platform up for 10 s');
          await measureLoad(target, { ...common, durationSec: 10, warmupSec: 0 });
        }
        rungs.set(key, { label, over, stats: await measureLoad(target, settings(key, platform)) });
      }
    } finally {
      children.delete(platform);
      await platform.stop();
    }

    await measure('frontUndici', 'our server → undici → RPC stub', 'rpc', scripts.ladder, ['front-undici', '1'], ladderTarget);
    await measure('frontRpc', 'our server → RPC client → RPC stub', 'frontUndici', scripts.ladder, ['front-rpc', '1'], ladderTarget);
    await measure('meStub', 'gateway, stub user service', 'frontRpc', scripts.ladder, ['gateway-stub', '1'], ladderTarget);
    await measure('hop', 'bare fastify→undici→fastify', 'fastify', scripts.hop, [], (info: { url: string }) => ({ url: info.url }));
  } finally {
    await Promise.allSettled([...children].map((child) => child.stop()));
    await rm(workDir, { recursive: true, force: true });
  }

  const width = Math.max(...[...rungs.values()].map((rung) => rung.label.length));
  const lines = [
    `gateway ladder: ${options.durationSec} s per run after ${options.warmupSec} s warm-up, ${options.connections} connections, node ${process.version}, ${cpus().length} CPUs`,
    '',
    `${'rung'.padEnd(width)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'server'.padStart(8)}${'others'.padStart(8)}${'µs CPU/req'.padStart(12)}   step`,
  ];
  for (const rung of rungs.values()) {
    const micros = cpuMicrosPerRequest(rung.stats);
    const base = rung.over === undefined ? undefined : rungs.get(rung.over);
    const step = base ? `+${(micros - cpuMicrosPerRequest(base.stats)).toFixed(0)} µs over "${base.label}"` : '';
    lines.push(
      `${rung.label.padEnd(width)}${Math.round(rung.stats.requestsPerSec).toLocaleString('en-US').padStart(9)}${rung.stats.latencyMs.p50.toFixed(2).padStart(9)}` +
        `${(rung.stats.cpu.server ?? Number.NaN).toFixed(2).padStart(8)}${(rung.stats.cpu.others ?? Number.NaN).toFixed(2).padStart(8)}${micros.toFixed(0).padStart(12)}   ${step}`,
    );
  }
  lines.push('', 'µs CPU/req = server cores busy ÷ req/s: the server-side cost of one request, whatever the load generator managed.');
  return {
    results: { rungs: Object.fromEntries([...rungs.entries()].map(([key, rung]) => [key, { ...rung, cpuMicrosPerRequest: cpuMicrosPerRequest(rung.stats) }])) },
    goals: [],
    summary: lines.join('\n'),
  };
};
