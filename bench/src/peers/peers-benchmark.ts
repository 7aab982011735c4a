import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, runCommand, startOtlpReceiver, type OtlpReceiver } from '@carshare/testing';
import { atMost, formatGoal, type BenchGoal, type BenchmarkRun, type BenchOptions } from '../benchmark.ts';
import { chooseLoadGenerator, measureLoad, type LoadGenerator, type LoadStats, type LoadTarget } from '../measure-load.ts';
import { repoRoot, spawnCarshareService, spawnChildServer, type ChildServer } from '../spawn-child-server.ts';
import { writeBenchGatewayConfig } from '../gateway/bench-gateway-config.ts';
import { checkTarget, isComposedRider, isRider, logInRider, meTarget, rpcTarget, type PlatformInfo } from '../gateway/gateway-targets.ts';
import { ensurePeersInstalled, peersDir } from './install-peers.ts';
import { signPeerToken } from './peer-token.ts';

const gatewayDir = resolve(import.meta.dirname, '..', 'gateway');
const scripts = {
  hello: join(gatewayDir, 'hello-server.ts'),
  hop: join(gatewayDir, 'hop-server.ts'),
  platform: join(gatewayDir, 'platform-server.ts'),
  nestUser: join(peersDir, 'src', 'nest-user-service.mjs'),
  nestGateway: join(peersDir, 'src', 'nest-gateway.mjs'),
  nestTrip: join(peersDir, 'src', 'nest-trip-service.mjs'),
  moleculerUser: join(peersDir, 'src', 'moleculer-user-service.mjs'),
  moleculerGateway: join(peersDir, 'src', 'moleculer-gateway.mjs'),
  moleculerTrip: join(peersDir, 'src', 'moleculer-trip-service.mjs'),
};

type RunName = 'hello' | 'post' | 'hop' | 'hop2' | 'hop2framed' | 'hoph2' | 'nest' | 'nest2' | 'moleculer' | 'moleculer2' | 'rpc' | 'me' | 'distributed';

const runs: Record<RunName, { label: string; processes: string }> = {
  hello: { label: 'fastify hello-world', processes: 'fastify' },
  post: { label: 'bare fastify JSON POST', processes: 'fastify' },
  hop: { label: 'bare fastify→undici→fastify', processes: 'one process' },
  hop2: { label: 'bare fastify→2 undici calls→fastify', processes: 'one process' },
  hop2framed: { label: 'the 2 calls over framed TCP', processes: 'one process' },
  hoph2: { label: 'the same hop over h2c', processes: 'one process' },
  nest: { label: 'NestJS 11 TCP, Fastify gateway', processes: 'gateway + user' },
  nest2: { label: 'NestJS 11 TCP, two calls', processes: 'gw + user + trip' },
  moleculer: { label: 'Moleculer 0.14 TCP + moleculer-web', processes: 'gateway + user' },
  moleculer2: { label: 'Moleculer 0.14 TCP, two calls', processes: 'gw + user + trip' },
  rpc: { label: 'ours: GetUser RPC (cached)', processes: 'platform' },
  me: { label: 'ours: /v1/me embedded', processes: 'platform' },
  distributed: { label: 'ours: /v1/me distributed', processes: 'gateway + user + trip' },
};

/**
 * The issue's acceptance (CPU µs per request, same run; promoted bytes per request). /v1/me makes
 * two downstream calls side by side (the account and the rider's activity, DOMAIN), so its ratios
 * are taken against references doing the same: the bare two-call hop and the two-call peers.
 * The one-call ratios the issue was written against are printed beside them, without a goal.
 */
export const peersGoals = {
  rpcOverPost: 2,
  meOverHop: 1,
  meOverMoleculer: 1,
  meOverNest: 1.3,
  distributedOverHop: 1.6,
  distributedOverNest: 2,
  rpcPromotedBytes: 200,
  mePromotedBytes: 500,
} as const;

/**
 * The round whose CPU µs per request is the median (the lower middle one of an even count), so
 * the row printed is one real run; with one round, that run.
 */
function medianRun(all: readonly LoadStats[]): LoadStats {
  const sorted = [...all].sort((a, b) => a.cpuMicrosPerRequest - b.cpuMicrosPerRequest);
  return sorted[Math.floor((sorted.length - 1) / 2)] as LoadStats;
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

function formatSummary(
  options: BenchOptions,
  setup: { loadGenerator: LoadGenerator; threads: number; sampleRatio: number; loadAverage: number[] },
  measured: Partial<Record<RunName, LoadStats>>,
  rounds: Partial<Record<RunName, LoadStats[]>>,
  goals: BenchGoal[],
  references: [string, number][],
): string {
  const generator = setup.loadGenerator === 'wrk' ? `wrk (${setup.threads} thread${setup.threads === 1 ? '' : 's'})` : 'autocannon (no wrk on the PATH: apt-get install -y wrk)';
  const lines = [
    `peers benchmark: ${options.durationSec} s per run after ${options.warmupSec} s warm-up, ${options.connections} connections, load generator ${generator}, ` +
      `node ${process.version}, ${cpus().length} CPUs, load average before ${setup.loadAverage.map((value) => value.toFixed(2)).join(' ')}`,
    `ours: auth, rate limits (unreachable limits: each request pays the check), deadlines, metrics, tracing sampled at ${setup.sampleRatio} exporting OTLP to a counting receiver`,
    '',
    `${'run'.padEnd(36)}${'processes'.padEnd(16)}${'req/s'.padStart(8)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'bad'.padStart(5)}` +
      `${'server'.padStart(8)}${'loadgen'.padStart(8)}${'others'.padStart(7)}${'µs CPU/req'.padStart(12)}${'  (per process)'.padEnd(16)}${'promoted B/req'.padStart(15)}${'  (per process)'.padEnd(18)}`,
    `${''.padEnd(36 + 16 + 29)}${'(cores busy)'.padStart(23)}${'(sum)'.padStart(12)}${''.padEnd(16)}${'(sum)'.padStart(15)}`,
  ];
  for (const name of Object.keys(runs) as RunName[]) {
    const stats = measured[name];
    if (!stats) continue;
    const byProcess = stats.cpuMicrosPerRequestByProcess.length > 1 ? `  ${stats.cpuMicrosPerRequestByProcess.map((value) => fixed(value, 0)).join(' + ')}` : '';
    const gc = stats.gc;
    const gcByProcess = gc && gc.promotedBytesPerRequestByProcess.length > 1 ? `  ${gc.promotedBytesPerRequestByProcess.map((value) => fixed(value, 0)).join(' + ')}` : '';
    lines.push(
      `${runs[name].label.padEnd(36)}${runs[name].processes.padEnd(16)}${Math.round(stats.requestsPerSec).toLocaleString('en-US').padStart(8)}` +
        `${fixed(stats.latencyMs.p50, 2).padStart(8)}${fixed(stats.latencyMs.p99, 2).padStart(8)}${String(stats.non2xx + stats.errors + stats.timeouts).padStart(5)}` +
        `${fixed(stats.cpu.server, 2).padStart(8)}${fixed(stats.cpu.loadGenerator, 2).padStart(8)}${fixed(stats.cpu.others, 2).padStart(7)}` +
        `${fixed(stats.cpuMicrosPerRequest, 0).padStart(12)}${byProcess.padEnd(16)}${fixed(gc?.promotedBytesPerRequest, 0).padStart(15)}${gcByProcess.padEnd(18)}`,
    );
  }
  if (measured.post || measured.hop || measured.hop2) {
    lines.push(`(the bare POST and the hops share one process: the hops' first back end is the POST's server; what is idle costs nothing)`);
  }
  if (Object.values(rounds).some((all) => all.length > 1)) {
    lines.push('', 'each round (the row above is the round with the median CPU µs per request): µs CPU/req | promoted B/req');
    for (const name of Object.keys(runs) as RunName[]) {
      const all = rounds[name];
      if (!all) continue;
      lines.push(
        `  ${runs[name].label.padEnd(36)}${all.map((stats) => fixed(stats.cpuMicrosPerRequest, 0).padStart(6)).join('')}   |${all.map((stats) => fixed(stats.gc?.promotedBytesPerRequest, 0).padStart(7)).join('')}`,
      );
    }
  }
  lines.push('', 'acceptance (ratios of CPU µs per request from this run; bytes per request; reported, enforced only with --strict)');
  for (const goal of goals) lines.push(`  ${formatGoal(goal, 36, 2)}`);
  if (references.length > 0) {
    lines.push('', 'for reference (no goal; "1-call": against the one-call references issue 9 was written with)');
    for (const [name, value] of references) lines.push(`  ${name.padEnd(40)}${fixed(value, 2).padStart(10)}`);
  }
  const contended = Object.entries(measured)
    .filter(([, stats]) => (stats.cpu.others ?? 0) > 0.25)
    .map(([name]) => name);
  if (contended.length > 0) {
    lines.push(`warning: other processes kept > 0.25 cores busy during: ${contended.join(', ')}; req/s is skewed there, CPU µs per request and promoted bytes much less`);
  }
  const failed = Object.entries(measured)
    .filter(([, stats]) => stats.non2xx > 0 || stats.errors > 0 || stats.timeouts > 0)
    .map(([name]) => name);
  if (failed.length > 0) lines.push(`warning: non-2xx answers, socket errors or timeouts in: ${failed.join(', ')}`);
  return lines.join('\n');
}

/**
 * `npm run bench -- peers`: what one request costs us next to what people would pick instead,
 * in CPU µs per request summed over each setup's processes, and GC promoted bytes per request.
 *
 *   bare: fastify hello-world; a bare fastify JSON POST; a bare fastify → undici → fastify hop,
 *     and the same with two undici calls side by side to two back ends (/v1/me's shape)
 *   peers (bench/peers, plain node): NestJS 11 microservice on the TCP transport behind a NestJS
 *     gateway on Fastify (ValidationPipe + class-validator); Moleculer 0.14 on the TCP transporter
 *     with moleculer-web in front (fastest-validator); each a bearer check, a user from memory,
 *     front and back in their own processes; and each again composing /v1/me as ours does, the
 *     user call and a trip service's activity call side by side (three processes)
 *   ours, every feature on: cached GetUser; GET /v1/me embedded (one process); GET /v1/me
 *     distributed (`carshare service user` and `carshare service gateway`, two processes)
 *
 * Every setup is started first and stays up; `--rounds N` then measures them all N times in
 * turn and reports each setup's median round. Every server child runs with --trace-gc-nvp.
 * Flags: --rounds N (default 1); --only hello,post,hop,hop2,hoph2,nest,nest2,moleculer,moleculer2,rpc,me,distributed (hoph2, the hop over
 * HTTP/2 cleartext, only when named);
 * --loadgen wrk|autocannon; --threads N (wrk); --sample-ratio R (ours, default 0.1);
 * --platform-warmup S (extra load before our first measured run on each fresh platform, default 10).
 */
export const runPeersBenchmark: BenchmarkRun = async (options) => {
  const loadGenerator = chooseLoadGenerator(options.flags['loadgen']);
  const threads = options.flags['threads'] === undefined ? 1 : Number(options.flags['threads']);
  const sampleRatio = options.flags['sample-ratio'] === undefined ? 0.1 : Number(options.flags['sample-ratio']);
  if (!(sampleRatio >= 0 && sampleRatio <= 1)) throw new Error('--sample-ratio must be between 0 and 1');
  const platformWarmupSec = options.flags['platform-warmup'] === undefined ? 10 : Number(options.flags['platform-warmup']);
  const roundCount = options.flags['rounds'] === undefined ? 1 : Math.max(1, Math.round(Number(options.flags['rounds'])));
  if (!Number.isFinite(roundCount)) throw new Error('--rounds needs a number');
  const only = typeof options.flags['only'] === 'string' ? new Set(options.flags['only'].split(',')) : undefined;
  // The h2c hop is a measurement for ADR 0013, not an acceptance row: only when asked for.
  const wanted = (name: RunName): boolean => (only === undefined ? name !== 'hoph2' && name !== 'hop2framed' : only.has(name));
  const progress = (message: string): void => {
    process.stderr.write(`· ${message}\n`);
  };
  const loadAverage = loadavg();
  const measured: Partial<Record<RunName, LoadStats>> = {};
  const children = new Set<ChildServer<unknown>>();
  const workDir = await mkdtemp(join(tmpdir(), 'carshare-bench-peers-'));
  let receiver: OtlpReceiver | undefined;

  const start = async <Info>(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, plain = false): Promise<ChildServer<Info>> => {
    const child = await spawnChildServer<Info>(script, args, { env, traceGc: true, tsx: !plain });
    children.add(child);
    return child;
  };
  const stopAll = async (): Promise<void> => {
    const stopping = [...children];
    children.clear();
    await Promise.allSettled(stopping.map((child) => child.stop()));
  };
  /** A setup under load: its servers stay up for every round; `target()` renews any token. */
  interface Setup {
    name: RunName;
    servers: ChildServer<unknown>[];
    target: () => Promise<LoadTarget>;
    /** Extra load before its first measured run (a fresh platform's JIT and WebAssembly). */
    firstWarmupSec: number;
  }
  const setups: Setup[] = [];
  const rounds: Partial<Record<RunName, LoadStats[]>> = {};

  try {
    if (wanted('nest') || wanted('nest2') || wanted('moleculer') || wanted('moleculer2')) ensurePeersInstalled(progress);
    const configFile = await writeBenchGatewayConfig(workDir);

    if (wanted('hello')) {
      const hello = await start<{ url: string }>(scripts.hello);
      const target = { url: hello.info.url };
      await checkTarget(target, () => true, 'hello-world');
      setups.push({ name: 'hello', servers: [hello], target: async () => target, firstWarmupSec: 0 });
    }

    if (wanted('post') || wanted('hop') || wanted('hop2') || wanted('hop2framed') || wanted('hoph2')) {
      const hop = await start<{ url: string; backUrl: string }>(scripts.hop);
      const post: LoadTarget = {
        url: `${hop.info.backUrl}/rpc/echo`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: '00000000-0000-7000-8000-000000000000' }),
      };
      await checkTarget(post, () => true, 'bare POST');
      await checkTarget({ url: hop.info.url }, () => true, 'bare hop');
      await checkTarget({ url: `${hop.info.url}/two` }, (body) => (body as { activity?: unknown }).activity !== undefined, 'bare two-call hop');
      if (wanted('post')) setups.push({ name: 'post', servers: [hop], target: async () => post, firstWarmupSec: 0 });
      if (wanted('hop')) setups.push({ name: 'hop', servers: [hop], target: async () => ({ url: hop.info.url }), firstWarmupSec: 0 });
      if (wanted('hop2')) setups.push({ name: 'hop2', servers: [hop], target: async () => ({ url: `${hop.info.url}/two` }), firstWarmupSec: 0 });
      if (wanted('hop2framed')) {
        await checkTarget({ url: `${hop.info.url}/two-framed` }, (body) => (body as { activity?: unknown }).activity !== undefined, 'bare two calls over framed TCP');
        setups.push({ name: 'hop2framed', servers: [hop], target: async () => ({ url: `${hop.info.url}/two-framed` }), firstWarmupSec: 0 });
      }
      if (wanted('hoph2')) {
        await checkTarget({ url: `${hop.info.url}/h2` }, () => true, 'bare hop over h2c');
        setups.push({ name: 'hoph2', servers: [hop], target: async () => ({ url: `${hop.info.url}/h2` }), firstWarmupSec: 0 });
      }
    }

    // The peers: one rider, a token they accept, the secret shared by front and back.
    const riderId = '0193a1b2-0000-7000-8000-000000000001';
    const secret = `peers-${Math.random().toString(36).slice(2)}`;
    const peerMe = async (url: string): Promise<LoadTarget> => ({ url: `${url}/v1/me`, headers: { authorization: `Bearer ${signPeerToken(secret, riderId)}` } });

    // Each peer setup has processes of its own (the one-call and the two-call ones share none),
    // so one setup's connections and state never sit in another's measurement.
    for (const name of ['nest', 'nest2'] as const) {
      if (!wanted(name)) continue;
      const composed = name === 'nest2';
      const [rpcPort, tripRpcPort, httpPort] = [await freePort(), await freePort(), await freePort()];
      const env = { PEER_RPC_PORT: String(rpcPort), PEER_HTTP_PORT: String(httpPort), PEER_RIDER_ID: riderId, PEER_JWT_SECRET: secret, ...(composed && { PEER_TRIP_RPC_PORT: String(tripRpcPort) }) };
      progress(`starting NestJS: user${composed ? ' and trip' : ''} microservice${composed ? 's' : ''} (TCP), then the Fastify gateway`);
      const user = await start(scripts.nestUser, [], env, true);
      const trip = composed ? await start(scripts.nestTrip, [], { ...env, PEER_RPC_PORT: String(tripRpcPort) }, true) : undefined;
      const gateway = await start<{ url: string }>(scripts.nestGateway, [], env, true);
      await checkTarget(await peerMe(gateway.info.url), composed ? isComposedRider(riderId) : isRider(riderId), `NestJS /v1/me${composed ? ' (two calls)' : ''}`);
      setups.push({ name, servers: trip ? [gateway, user, trip] : [gateway, user], target: () => peerMe(gateway.info.url), firstWarmupSec: 0 });
    }

    for (const name of ['moleculer', 'moleculer2'] as const) {
      if (!wanted(name)) continue;
      const composed = name === 'moleculer2';
      const [userTcp, tripTcp, gatewayTcp, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const urls = [`127.0.0.1:${userTcp}/users`, ...(composed ? [`127.0.0.1:${tripTcp}/trips`] : []), `127.0.0.1:${gatewayTcp}/gateway`].join(',');
      const common = { PEER_TCP_URLS: urls, PEER_RIDER_ID: riderId, PEER_JWT_SECRET: secret, PEER_HTTP_PORT: String(httpPort), ...(composed && { PEER_COMPOSED: '1' }) };
      progress(`starting Moleculer: node users${composed ? ', node trips' : ''}, then node gateway with moleculer-web (TCP transporter)`);
      const user = await start(scripts.moleculerUser, [], { ...common, PEER_TCP_PORT: String(userTcp) }, true);
      const trip = composed ? await start(scripts.moleculerTrip, [], { ...common, PEER_TCP_PORT: String(tripTcp) }, true) : undefined;
      const gateway = await start<{ url: string }>(scripts.moleculerGateway, [], { ...common, PEER_TCP_PORT: String(gatewayTcp) }, true);
      await checkTarget(await peerMe(gateway.info.url), composed ? isComposedRider(riderId) : isRider(riderId), `Moleculer /v1/me${composed ? ' (two calls)' : ''}`);
      setups.push({ name, servers: trip ? [gateway, user, trip] : [gateway, user], target: () => peerMe(gateway.info.url), firstWarmupSec: 0 });
    }

    if (wanted('rpc') || wanted('me') || wanted('distributed')) receiver = await startOtlpReceiver({ keepSpans: false });

    if ((wanted('rpc') || wanted('me')) && receiver) {
      progress(`starting the embedded platform (tracing at ${sampleRatio}, OTLP to ${receiver.url})`);
      const platform = await start<PlatformInfo>(scripts.platform, [join(workDir, 'embedded'), receiver.url, String(sampleRatio)], { CARSHARE_CONFIG: configFile });
      // A fresh login per measured run, so long runs stay inside the access token's 15 minutes.
      const me = async (): Promise<LoadTarget> => meTarget(platform.info, await logInRider(platform.info.gatewayUrl));
      const rpc = async (): Promise<LoadTarget> => rpcTarget(platform.info, await logInRider(platform.info.gatewayUrl));
      const session = await logInRider(platform.info.gatewayUrl);
      await checkTarget(meTarget(platform.info, session), isRider(session.riderId), 'GET /v1/me (embedded)');
      await checkTarget(rpcTarget(platform.info, session), isRider(session.riderId), 'GetUser');
      if (wanted('me')) setups.push({ name: 'me', servers: [platform], target: me, firstWarmupSec: platformWarmupSec });
      if (wanted('rpc')) setups.push({ name: 'rpc', servers: [platform], target: rpc, firstWarmupSec: wanted('me') ? 0 : platformWarmupSec });
    }

    if (wanted('distributed') && receiver) {
      const dataDir = join(workDir, 'distributed');
      const [userPort, tripPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
      const userUrl = `http://127.0.0.1:${userPort}`;
      const tripUrl = `http://127.0.0.1:${tripPort}`;
      const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
      const common = {
        CARSHARE_CONFIG: configFile,
        CARSHARE_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        LOG_PRETTY: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_TRACES_SAMPLER_ARG: String(sampleRatio),
      };
      progress('distributed: carshare seed, then carshare service user, trip and gateway');
      const seeded = await runCommand({
        args: ['seed'],
        cwd: repoRoot,
        env: { ...common, DATABASE_URL: undefined, REDIS_URL: undefined, AMQP_URL: undefined, S3_ENDPOINT: undefined, ETCD_ENDPOINTS: undefined },
        timeoutMs: 120_000,
      });
      if (seeded.code !== 0) throw new Error(`carshare seed failed (${seeded.code}):\n${seeded.stderr.slice(-2000)}`);
      const user = await spawnCarshareService('user', userUrl, { traceGc: true, env: { ...common, USER_HOST: '127.0.0.1', USER_PORT: String(userPort) } });
      children.add(user);
      // /v1/me is the user and the rider's active reservation and trip (DOMAIN): the trip service
      // answers that part, on a PGlite folder of its own (one process per folder).
      const trip = await spawnCarshareService('trip', tripUrl, { traceGc: true, env: { ...common, CARSHARE_DATA_DIR: join(workDir, 'distributed-trip'), TRIP_HOST: '127.0.0.1', TRIP_PORT: String(tripPort), USER_URL: userUrl } });
      children.add(trip);
      const gateway = await spawnCarshareService('gateway', gatewayUrl, { traceGc: true, env: { ...common, GATEWAY_HOST: '127.0.0.1', PORT: String(gatewayPort), USER_URL: userUrl, TRIP_URL: tripUrl } });
      children.add(gateway);
      const platform = { gatewayUrl, userUrl };
      const session = await logInRider(gatewayUrl);
      await checkTarget(meTarget(platform, session), isRider(session.riderId), 'GET /v1/me (distributed)');
      setups.push({ name: 'distributed', servers: [gateway, user, trip], target: async () => meTarget(platform, await logInRider(gatewayUrl)), firstWarmupSec: platformWarmupSec });
    }

    // Every setup stays up; each round measures them all once, so a burst of someone else's
    // work on the machine lands on one round of each rather than on every run of one setup.
    for (let round = 1; round <= roundCount; round++) {
      for (const setup of setups) {
        const warmupSec = options.warmupSec + (round === 1 ? setup.firstWarmupSec : 0);
        progress(`${roundCount > 1 ? `round ${round}/${roundCount}: ` : ''}${runs[setup.name].label}: ${warmupSec} s warm-up, ${options.durationSec} s measured`);
        const stats = await measureLoad(await setup.target(), {
          durationSec: options.durationSec,
          warmupSec,
          connections: options.connections,
          loadGenerator,
          threads,
          serverPids: setup.servers.map((server) => server.pid),
          gcTraces: setup.servers.map((server) => server.gc),
        });
        (rounds[setup.name] ??= []).push(stats);
      }
    }
    for (const [name, all] of Object.entries(rounds) as [RunName, LoadStats[]][]) measured[name] = medianRun(all);
  } finally {
    await stopAll();
    await receiver?.close();
    await rm(workDir, { recursive: true, force: true });
  }

  const cpu = (name: RunName): number => measured[name]?.cpuMicrosPerRequest ?? Number.NaN;
  const promoted = (name: RunName): number => measured[name]?.gc?.promotedBytesPerRequest ?? Number.NaN;
  const goals: BenchGoal[] = [];
  const goal = (name: string, value: number, target: number, needed: RunName[]): void => {
    if (needed.every((run) => wanted(run))) goals.push(atMost(name, value, target));
  };
  goal('GetUser ÷ bare POST', cpu('rpc') / cpu('post'), peersGoals.rpcOverPost, ['rpc', 'post']);
  goal('/v1/me embedded ÷ bare 2-call hop', cpu('me') / cpu('hop2'), peersGoals.meOverHop, ['me', 'hop2']);
  goal('/v1/me embedded ÷ Moleculer 2-call', cpu('me') / cpu('moleculer2'), peersGoals.meOverMoleculer, ['me', 'moleculer2']);
  goal('/v1/me embedded ÷ NestJS 2-call', cpu('me') / cpu('nest2'), peersGoals.meOverNest, ['me', 'nest2']);
  goal('/v1/me distributed ÷ bare 2-call hop', cpu('distributed') / cpu('hop2'), peersGoals.distributedOverHop, ['distributed', 'hop2']);
  goal('/v1/me distributed ÷ NestJS 2-call', cpu('distributed') / cpu('nest2'), peersGoals.distributedOverNest, ['distributed', 'nest2']);
  goal('GetUser promoted B/req', promoted('rpc'), peersGoals.rpcPromotedBytes, ['rpc']);
  goal('/v1/me embedded promoted B/req', promoted('me'), peersGoals.mePromotedBytes, ['me']);
  goal('/v1/me distributed promoted B/req', promoted('distributed'), peersGoals.mePromotedBytes, ['distributed']);
  const references: [string, number][] = (
    [
      ['bare POST ÷ hello', cpu('post') / cpu('hello')],
      ['bare hop ÷ hello', cpu('hop') / cpu('hello')],
      ['bare hop over h2c ÷ over HTTP/1.1', cpu('hoph2') / cpu('hop')],
      ['bare 2-call hop ÷ 1-call', cpu('hop2') / cpu('hop')],
      ['bare 2 calls over framed TCP ÷ over HTTP/1.1', cpu('hop2framed') / cpu('hop2')],
      ['NestJS 2-call ÷ 1-call', cpu('nest2') / cpu('nest')],
      ['Moleculer 2-call ÷ 1-call', cpu('moleculer2') / cpu('moleculer')],
      ['NestJS ÷ bare hop (1-call)', cpu('nest') / cpu('hop')],
      ['Moleculer ÷ bare hop (1-call)', cpu('moleculer') / cpu('hop')],
      ['NestJS 2-call ÷ bare 2-call hop', cpu('nest2') / cpu('hop2')],
      ['Moleculer 2-call ÷ bare 2-call hop', cpu('moleculer2') / cpu('hop2')],
      ['/v1/me embedded ÷ bare hop (1-call)', cpu('me') / cpu('hop')],
      ['/v1/me embedded ÷ Moleculer (1-call)', cpu('me') / cpu('moleculer')],
      ['/v1/me embedded ÷ NestJS (1-call)', cpu('me') / cpu('nest')],
      ['/v1/me distributed ÷ bare hop (1-call)', cpu('distributed') / cpu('hop')],
      ['/v1/me distributed ÷ NestJS (1-call)', cpu('distributed') / cpu('nest')],
      ['/v1/me distributed ÷ embedded', cpu('distributed') / cpu('me')],
      ['/v1/me distributed ÷ Moleculer', cpu('distributed') / cpu('moleculer')],
    ] as [string, number][]
  ).filter(([, value]) => Number.isFinite(value));
  const otlp = receiver?.counts();
  const setup = { loadGenerator, threads, sampleRatio, loadAverage };
  return {
    results: { ...setup, rounds: roundCount, runs: measured, allRounds: rounds, otlp },
    goals,
    summary: formatSummary(options, setup, measured, rounds, goals, references) + (otlp ? `\nOTLP receiver: ${otlp.exports} exports, ${otlp.spans} spans` : ''),
  };
};
