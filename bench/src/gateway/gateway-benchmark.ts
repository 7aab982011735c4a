import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startOtlpReceiver, type OtlpReceiver, type OtlpReceiverCounts } from '@carshare/testing';
import { atLeast, atMost, formatGoal, type BenchGoal, type BenchmarkRun, type BenchOptions } from '../benchmark.ts';
import { chooseLoadGenerator, measureLoad, type LoadGenerator, type LoadStats, type LoadTarget } from '../measure-load.ts';
import { profileFileFor } from '../profile-files.ts';
import { profileMeasuredRun, spawnChildServer, type ChildServer } from '../spawn-child-server.ts';
import { writeBenchGatewayConfig } from './bench-gateway-config.ts';
import { checkTarget, isRider, logInRider, meTarget, readUserCacheLookups, rpcTarget, type PlatformInfo, type UserCacheLookups } from './gateway-targets.ts';

const scripts = {
  hello: resolve(import.meta.dirname, 'hello-server.ts'),
  platform: resolve(import.meta.dirname, 'platform-server.ts'),
  hop: resolve(import.meta.dirname, 'hop-server.ts'),
};

/** The issue's acceptance goals, as shares of the bare fastify baseline (or of untraced /v1/me). */
export const gatewayGoals = { meOverHello: 0.35, rpcOverHello: 0.5, tracedOverMe: 0.8, rpcPromotedBytes: 200, mePromotedBytes: 500 } as const;

type RunName = 'hello' | 'me' | 'rpc' | 'meTraced' | 'meUncached' | 'rpcUncached' | 'hop' | 'post';

const runLabels: Record<RunName, string> = {
  hello: '(a)  fastify hello-world',
  me: '(b)  GET /v1/me via gateway',
  rpc: '(c)  POST /rpc/user/GetUser',
  meTraced: `(b') /v1/me, tracing on`,
  meUncached: '(b0) /v1/me, user cache off',
  rpcUncached: '(c0) GetUser, user cache off',
  hop: '(ref) fastify→undici→fastify',
  post: '(ref) bare fastify JSON POST',
};

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

function formatSummary(
  options: BenchOptions,
  loadGenerator: LoadGenerator,
  sampleRatio: number,
  runs: Partial<Record<RunName, LoadStats>>,
  goals: BenchGoal[],
  cpuRatios: Record<string, number>,
  otlp: OtlpReceiverCounts,
  userCache: Partial<Record<'cached' | 'uncached', UserCacheLookups>>,
): string {
  const lines = [
    `gateway benchmark: ${options.durationSec} s per run after ${options.warmupSec} s warm-up, ${options.connections} connections, ` +
      `load generator ${loadGenerator}, node ${process.version}, ${cpus().length} CPUs`,
    '',
    `${'run'.padEnd(31)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'non-2xx'.padStart(9)}${'errors'.padStart(8)}` +
      `${'server'.padStart(8)}${'loadgen'.padStart(9)}${'others'.padStart(8)}${'µs CPU/req'.padStart(12)}${'promoted B/req'.padStart(16)}`,
    `${''.padEnd(31)}${''.padStart(44)}${'(cores busy)'.padStart(25)}${'(server)'.padStart(12)}${'(GC, server)'.padStart(16)}`,
  ];
  for (const name of Object.keys(runLabels) as RunName[]) {
    const stats = runs[name];
    if (!stats) continue;
    lines.push(
      `${runLabels[name].padEnd(31)}${Math.round(stats.requestsPerSec).toLocaleString('en-US').padStart(9)}` +
        `${fixed(stats.latencyMs.p50, 2).padStart(9)}${fixed(stats.latencyMs.p99, 2).padStart(9)}` +
        `${String(stats.non2xx).padStart(9)}${String(stats.errors).padStart(8)}` +
        `${fixed(stats.cpu.server, 2).padStart(8)}${fixed(stats.cpu.loadGenerator, 2).padStart(9)}${fixed(stats.cpu.others, 2).padStart(8)}` +
        `${fixed(stats.cpuMicrosPerRequest, 0).padStart(12)}${fixed(stats.gc?.promotedBytesPerRequest, 0).padStart(16)}`,
    );
  }
  lines.push('', `goals (req/s ratios; "by CPU" = the same ratio from server CPU per request, steadier on a busy machine)`);
  for (const goal of goals) {
    const byCpu = cpuRatios[goal.name];
    lines.push(`  ${formatGoal(goal)}${byCpu === undefined ? '' : `   by CPU ${fixed(byCpu, 3)}`}`);
  }
  if (runs.hop && runs.hello) {
    lines.push(`  ${'(ref) hop ÷ (a) hello'.padEnd(28)}${(runs.hop.requestsPerSec / runs.hello.requestsPerSec).toFixed(3).padStart(10)}   no goal: (b) with none of our code`);
  }
  if (runs.post && runs.hello) {
    lines.push(`  ${'(ref) POST ÷ (a) hello'.padEnd(28)}${(runs.post.requestsPerSec / runs.hello.requestsPerSec).toFixed(3).padStart(10)}   no goal: (c) with none of our code`);
  }
  lines.push('', `OTLP receiver (traced run, sampling ${sampleRatio}): ${otlp.exports} exports, ${otlp.spans} spans, ${Math.round(otlp.bytes / 1024)} KiB`);
  for (const [platform, lookups] of Object.entries(userCache)) {
    const total = lookups.hits + lookups.misses;
    lines.push(
      `user read cache, ${platform} platform: ${total === 0 ? 'no lookups (off)' : `${((lookups.hits / total) * 100).toFixed(2)}% hits of ${total.toLocaleString('en-US')} GetUser lookups`}`,
    );
  }
  lines.push(
    `promoted B/req: bytes the server's scavenges moved to old space per request (--trace-gc-nvp); goals ≤ ${gatewayGoals.rpcPromotedBytes} for GetUser, ≤ ${gatewayGoals.mePromotedBytes} for /v1/me`,
  );
  const saturated = Object.entries(runs).filter(([, stats]) => stats.cpu.loadGenerator > 0.9).map(([name]) => name);
  if (saturated.length > 0) {
    lines.push(`note: the load generator used > 90% of a core in: ${saturated.join(', ')}; those numbers may be capped by it, not by the server`);
  }
  const contended = Object.entries(runs).filter(([, stats]) => (stats.cpu.others ?? 0) > 0.25).map(([name]) => name);
  if (contended.length > 0) {
    lines.push(`warning: other processes kept > 0.25 cores busy during: ${contended.join(', ')}; rerun on a quiet machine before trusting those numbers`);
  }
  const failed = Object.entries(runs).filter(([, stats]) => stats.non2xx > 0 || stats.errors > 0).map(([name]) => name);
  if (failed.length > 0) lines.push(`warning: non-2xx answers or errors in: ${failed.join(', ')}`);
  return lines.join('\n');
}

/**
 * The issue's acceptance run: (a) bare fastify, (b) GET /v1/me through the gateway (one RPC hop
 * to the user service), (c) that RPC alone, then (b) again with tracing exporting at 10%, then
 * (b) and (c) with GetUser's read cache off, so the cache's share of the numbers is on record.
 * Servers run in child processes; the load generator (wrk when installed, else autocannon) runs from here.
 *
 * Flags: --hop adds the fastify→undici→fastify reference and its back end alone (a bare JSON POST); --sample-ratio R changes the traced
 * run's sampling; --profile writes a .cpuprofile of the server during each measured run to
 * bench/results/profiles (read them with summarize-cpu-profile.ts);
 * --only hello,me,rpc,traced,uncached,hop runs a subset (goals whose runs are missing show as FAIL);
 * --platform-warmup S sets the extra load given to each fresh platform before its first
 * measured run (default 10 s): PGlite's WebAssembly and the JIT need ~7 s of traffic before CPU
 * per request settles (1.1–1.4 ms per GetUser in the first seconds, ~0.7 ms after).
 */
export const runGatewayBenchmark: BenchmarkRun = async (options) => {
  const loadGenerator = chooseLoadGenerator(options.flags['loadgen']);
  const sampleRatio = options.flags['sample-ratio'] === undefined ? 0.1 : Number(options.flags['sample-ratio']);
  if (!(sampleRatio >= 0 && sampleRatio <= 1)) throw new Error('--sample-ratio must be between 0 and 1');
  const startedAt = new Date();
  const progress = (message: string): void => {
    process.stderr.write(`· ${message}\n`);
  };
  const platformWarmupSec = options.flags['platform-warmup'] === undefined ? 10 : Number(options.flags['platform-warmup']);
  /** Load on a fresh platform until its WebAssembly and JIT have settled; nothing is kept. */
  const warmPlatform = async (target: LoadTarget): Promise<void> => {
    if (platformWarmupSec <= 0) return;
    progress(`warming the platform up for ${platformWarmupSec} s`);
    await measureLoad(target, { durationSec: platformWarmupSec, warmupSec: 0, connections: options.connections, loadGenerator });
  };

  const only = typeof options.flags['only'] === 'string' ? new Set(options.flags['only'].split(',')) : undefined;
  const wanted = (name: 'hello' | 'me' | 'rpc' | 'traced' | 'uncached' | 'hop'): boolean =>
    only ? only.has(name) : name !== 'hop' || options.flags['hop'] === true;
  const common = { durationSec: options.durationSec, warmupSec: options.warmupSec, connections: options.connections, loadGenerator };
  const settings = (run: RunName, child: ChildServer<unknown>) => ({
    ...common,
    serverPid: child.pid,
    gcTraces: [child.gc],
    ...(options.flags['profile'] === true && { measuredRun: profileMeasuredRun(child, profileFileFor('gateway', run, startedAt)) }),
  });
  const runs: Partial<Record<RunName, LoadStats>> = {};
  const children = new Set<ChildServer<unknown>>();
  const workDir = await mkdtemp(join(tmpdir(), 'carshare-bench-'));
  // PGlite wants a folder of its own; the config file sits beside it.
  const dataDir = join(workDir, 'pgdata');
  let receiver: OtlpReceiver | undefined;

  const configFile = await writeBenchGatewayConfig(workDir);
  const userCache: Partial<Record<'cached' | 'uncached', UserCacheLookups>> = {};
  async function start<Info>(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildServer<Info>> {
    const child = await spawnChildServer<Info>(script, args, { env: { CARSHARE_CONFIG: configFile, ...env }, traceGc: true });
    children.add(child);
    return child;
  }
  async function stop(child: ChildServer<unknown>): Promise<void> {
    children.delete(child);
    await child.stop();
  }

  try {
    receiver = await startOtlpReceiver({ keepSpans: false });

    if (wanted('hello')) {
      progress('(a) bare fastify hello-world');
      const hello = await start<{ url: string }>(scripts.hello);
      await checkTarget({ url: hello.info.url }, () => true, 'hello-world');
      runs.hello = await measureLoad({ url: hello.info.url }, settings('hello', hello));
      await stop(hello);
    }

    if (wanted('me') || wanted('rpc')) {
      progress('starting the embedded platform (tracing off)');
      const platform = await start<PlatformInfo>(scripts.platform, [dataDir]);
      if (wanted('me')) {
        progress('(b) GET /v1/me through the gateway');
        const session = await logInRider(platform.info.gatewayUrl);
        const me = meTarget(platform.info, session);
        await checkTarget(me, isRider(session.riderId), 'GET /v1/me');
        await warmPlatform(me);
        runs.me = await measureLoad(me, settings('me', platform));
      }
      if (wanted('rpc')) {
        progress('(c) POST /rpc/user/GetUser straight at the user service');
        // A fresh token per run, so long --duration runs stay inside its 15-minute life.
        const session = await logInRider(platform.info.gatewayUrl);
        const rpc = rpcTarget(platform.info, session);
        await checkTarget(rpc, isRider(session.riderId), 'GetUser');
        if (!wanted('me')) await warmPlatform(rpc);
        runs.rpc = await measureLoad(rpc, settings('rpc', platform));
      }
      userCache.cached = await readUserCacheLookups(platform.info.userUrl);
      // The next platform reopens the same data dir, which one process may hold at a time.
      await stop(platform);
    }

    if (wanted('uncached')) {
      // What the numbers above owe to GetUser's read cache: every lookup reads PGlite here.
      progress('starting the embedded platform with the user read cache off');
      const uncached = await start<PlatformInfo>(scripts.platform, [dataDir], { USER_CACHE_TTL_MS: '0' });
      const session = await logInRider(uncached.info.gatewayUrl);
      const me = meTarget(uncached.info, session);
      const rpc = rpcTarget(uncached.info, session);
      await checkTarget(me, isRider(session.riderId), 'GET /v1/me (cache off)');
      await warmPlatform(me);
      progress('(b0) GET /v1/me, user cache off');
      runs.meUncached = await measureLoad(me, settings('meUncached', uncached));
      progress('(c0) GetUser, user cache off');
      runs.rpcUncached = await measureLoad(rpc, settings('rpcUncached', uncached));
      userCache.uncached = await readUserCacheLookups(uncached.info.userUrl);
      await stop(uncached);
    }

    if (wanted('traced')) {
      progress(`starting the embedded platform (tracing on, sampling ${sampleRatio}, OTLP to ${receiver.url})`);
      const traced = await start<PlatformInfo>(scripts.platform, [dataDir, receiver.url, String(sampleRatio)]);
      progress(`(b') GET /v1/me with tracing`);
      const session = await logInRider(traced.info.gatewayUrl);
      const meTraced = meTarget(traced.info, session);
      await checkTarget(meTraced, isRider(session.riderId), 'GET /v1/me (traced)');
      await warmPlatform(meTraced);
      runs.meTraced = await measureLoad(meTraced, settings('meTraced', traced));
      // Stopping flushes the batch span processor, so the receiver's counts are complete after it.
      await stop(traced);
    }

    if (wanted('hop')) {
      progress('(ref) fastify → undici → fastify in one process');
      const hop = await start<{ url: string; backUrl: string }>(scripts.hop);
      await checkTarget({ url: hop.info.url }, () => true, 'reference hop');
      runs.hop = await measureLoad({ url: hop.info.url }, settings('hop', hop));
      progress('(ref) the hop\'s back end alone: a bare fastify JSON POST, what (c) would cost with none of our code');
      const post: LoadTarget = {
        url: `${hop.info.backUrl}/rpc/echo`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: '00000000-0000-7000-8000-000000000000' }),
      };
      await checkTarget(post, () => true, 'reference POST');
      runs.post = await measureLoad(post, settings('post', hop));
      await stop(hop);
    }
  } finally {
    await Promise.allSettled([...children].map((child) => child.stop()));
    await receiver?.close();
    await rm(workDir, { recursive: true, force: true });
  }

  const rate = (name: RunName): number => runs[name]?.requestsPerSec ?? Number.NaN;
  const cpuPerRequest = (name: RunName): number => {
    const stats = runs[name];
    return stats?.cpu.server === undefined ? Number.NaN : stats.cpu.server / stats.requestsPerSec;
  };
  const ratios = [
    ['(b) /v1/me ÷ (a) hello', 'me', 'hello', gatewayGoals.meOverHello],
    ['(c) GetUser ÷ (a) hello', 'rpc', 'hello', gatewayGoals.rpcOverHello],
    [`(b') traced ÷ (b) untraced`, 'meTraced', 'me', gatewayGoals.tracedOverMe],
  ] as const;
  const goals = ratios.map(([name, over, under, target]) => atLeast(name, rate(over) / rate(under), target));
  const promoted = (name: RunName): number => runs[name]?.gc?.promotedBytesPerRequest ?? Number.NaN;
  if (wanted('rpc')) goals.push(atMost('(c) GetUser promoted B/req', promoted('rpc'), gatewayGoals.rpcPromotedBytes));
  if (wanted('me')) goals.push(atMost('(b) /v1/me promoted B/req', promoted('me'), gatewayGoals.mePromotedBytes));
  // Throughput of a saturated single-process server is 1 / CPU per request, so this ratio is what
  // the req/s ratio would be if neither the load generator nor other processes got in the way.
  const cpuRatios = Object.fromEntries(ratios.map(([name, over, under]) => [name, cpuPerRequest(under) / cpuPerRequest(over)]));
  const otlp = receiver?.counts() ?? { exports: 0, spans: 0, bytes: 0 };
  return {
    results: { loadGenerator, sampleRatio, runs, cpuRatios, otlp, userCache },
    goals,
    summary: formatSummary(options, loadGenerator, sampleRatio, runs, goals, cpuRatios, otlp, userCache),
  };
};
