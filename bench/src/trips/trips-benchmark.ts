/**
 * `npm run bench -- trips`: trips per second, start to finish, through the gateway (issue 14,
 * acceptance 5). Every trip is what a rider's app does: `POST /v1/trips` (Idempotency-Key: the
 * start saga: profile verified → claim → deposit hold → unlock with the device's ack) then
 * `POST /v1/trips/:id/finish` (zone check → lock with the ack → route from telemetry → price →
 * capture). Riders sign up and are approved through the public API, cars are created through the
 * operator API and connected over MQTT as simulated devices (in this process) that ack at once.
 *
 *   npm run bench -- trips [--riders N] [--cars N] [--duration S] [--warmup S] [--processor-store memory|database] [--liftoff-only]
 *   npm run bench -- trips --database-url postgres://postgres@127.0.0.1:5432/test --amqp-url amqp://guest:guest@127.0.0.1:5672
 *
 * Each rider drives in a closed loop (`--riders`, default `--connections`) on cars of its own, so
 * riders never race for a car and every trip measures the platform, not a refusal. The bare RPC
 * hop (`gateway/hop-server.ts`: fastify → undici → fastify) is measured in the same run at the
 * same concurrency, as the reference a trip's cost is read against.
 *
 * The simulated card processor stands in for a company outside (DESIGN: fake only what lies
 * outside): its intents and idempotency keys are its books, not the platform's, so by default they
 * stay in its memory here instead of in the platform's PGlite, where `carshare up` keeps them to
 * survive crash drills. `--processor-store database` measures them on the platform's session too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { generateCity } from '@carshare/city';
import { systemClock, systemScheduler } from '@carshare/platform';
import {
  ApiSession,
  FleetSimulator,
  FleetStore,
  GatewayCarRegistrar,
  PublicApi,
  PublicApiError,
  mqttDeviceConnector,
  newRiderIdentity,
  onboardRider,
  provisionFleet,
} from '@carshare/simulator';
import { atLeast, formatGoal, type BenchOptions, type BenchReport, type BenchmarkRun } from '../benchmark.ts';
import { chooseLoadGenerator, measureLoad, type LoadStats } from '../measure-load.ts';
import { cpuSecondsOf, machineBusySeconds } from '../process-cpu.ts';
import { profileFileFor } from '../profile-files.ts';
import { spawnChildServer } from '../spawn-child-server.ts';
import type { TraceEntry, TraceReport } from './platform-tracer.ts';
import { freshDatabase, freshVirtualHost } from './shared-infrastructure.ts';

const platformScript = resolve(import.meta.dirname, 'trip-platform-server.ts');
const hopScript = resolve(import.meta.dirname, '..', 'gateway', 'hop-server.ts');
const operator = { email: 'operator@carshare.local', password: 'operator-demo-pass' };

interface TripRun {
  label: string;
  trips: number;
  durationSec: number;
  tripsPerSec: number;
  /** Start → finish answered, per trip, ms. */
  tripMs: Percentiles;
  startMs: Percentiles;
  finishMs: Percentiles;
  /** Error codes of starts and finishes that did not succeed, counted. */
  failures: Record<string, number>;
  /** Platform process CPU per finished trip, ms. */
  platformCpuMsPerTrip: number;
  /** The same less what the platform spends idle (measured for 3 s before the run), ms. */
  platformCpuMsPerTripNetOfIdle: number;
  /** Cores the platform keeps busy with no trips. */
  idleCores: number;
  /** Cores busy on average during the measured run. */
  cpu: { platform: number; bench: number; others: number };
  setupSec: { platform: number; cars: number; riders: number };
  /** Where one trip's time went: each saga step's time since its saga began, ms (the last trip of the run). */
  sampleSteps: string[];
  /** --trace: statements and RPC calls per trip, the costliest first. */
  trace?: string[];
  /** --trace: the raw counts of the measured run (in the results file). */
  traced?: TraceReport;
}

/** Per trip: statements by schema, the statements that cost most, RPC calls by method. */
function describeTrace(report: TraceReport, trips: number): string[] {
  const perTrip = (entries: Array<[string, TraceEntry]>) =>
    entries.map(([key, entry]) => ({ key, count: entry.count / trips, ms: entry.ms / trips, each: (entry.ms / entry.count) * 1000 })).sort((a, b) => b.ms - a.ms);
  const statements = perTrip(Object.entries(report.statements));
  const bySchema = new Map<string, TraceEntry>();
  for (const [key, entry] of Object.entries(report.statements)) {
    const schema = key.slice(0, key.indexOf(':'));
    const total = bySchema.get(schema) ?? { count: 0, ms: 0 };
    bySchema.set(schema, { count: total.count + entry.count, ms: total.ms + entry.ms });
  }
  const rpc = perTrip(Object.entries(report.rpc));
  const sum = (rows: Array<{ count: number; ms: number }>) => rows.reduce((total, row) => ({ count: total.count + row.count, ms: total.ms + row.ms }), { count: 0, ms: 0 });
  const all = sum(statements);
  const line = (row: { key: string; count: number; ms: number; each: number }) => `      ${row.count.toFixed(2).padStart(6)} × ${row.each.toFixed(0).padStart(5)} µs = ${row.ms.toFixed(2).padStart(6)} ms  ${row.key}`;
  return [
    `    statements per trip: ${all.count.toFixed(1)}, ${all.ms.toFixed(1)} ms (wall, from call to answer)`,
    ...perTrip([...bySchema]).map(line),
    `    costliest statements per trip:`,
    ...statements.slice(0, 40).map(line),
    `    RPC calls per trip: ${sum(rpc).count.toFixed(1)}`,
    ...rpc.map(line),
  ];
}

interface Timeline {
  sagas: Array<{ name: string; createdAt: string; finishedAt: string | null; steps: Array<{ name: string; invokedAt: string | null }> }>;
}

/** `trip.start: record-trip +3 ms, check-profile +9 ms, …` for each saga of a trip. */
function stepTimes(timeline: Timeline): string[] {
  return timeline.sagas.map((saga) => {
    const began = Date.parse(saga.createdAt);
    const steps = saga.steps.map((step) => `${step.name} +${step.invokedAt ? Date.parse(step.invokedAt) - began : '?'}`);
    const total = saga.finishedAt ? `, done +${Date.parse(saga.finishedAt) - began}` : '';
    return `${saga.name}: ${steps.join(', ')}${total} ms`;
  });
}

interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
}

function integerFlag(options: BenchOptions, name: string, fallback: number): number {
  const value = options.flags[name];
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) throw new Error(`--${name} takes a whole number ≥ 1, not ${String(value)}`);
  return number;
}

const say = (line: string) => process.stdout.write(`trips: ${line}\n`);

/** Runs `count` tasks, `concurrency` at a time. */
async function inBatches<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

/** Where the simulated processor keeps its books (`--processor-store`; see the header). */
function processorStoreOf(options: BenchOptions): 'memory' | 'database' {
  const store = options.flags['processor-store'] ?? 'memory';
  if (store !== 'memory' && store !== 'database') throw new Error(`--processor-store is memory or database, not ${String(store)}`);
  return store;
}

/** `npm start` runs node with --liftoff-only (scripts/start.mjs: less memory, a faster start); the flag measures the platform so. */
function liftoffOnly(options: BenchOptions): boolean {
  return options.flags['liftoff-only'] === true;
}

/** What the run's platform was set up with, for its lines on the screen. */
function platformSettings(options: BenchOptions): string {
  return `the simulated processor's books in ${processorStoreOf(options)}${liftoffOnly(options) ? ', platform on node --liftoff-only' : ''}`;
}

/** One platform (embedded, or on PostgreSQL + RabbitMQ), set up and loaded. */
async function measurePlatform(options: BenchOptions, run: { label: string; env: NodeJS.ProcessEnv; riders: number; cars: number }): Promise<TripRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carshare-bench-trips-'));
  let fleet: FleetSimulator | undefined;
  const setupStarted = performance.now();
  const trace = options.flags['trace'] === true;
  const platform = await spawnChildServer<{ gatewayUrl: string; mqttPort: number; traceUrl?: string }>(platformScript, [dataDir], {
    env: { ...run.env, TRIPS_PROCESSOR_STORE: processorStoreOf(options), ...(trace && { TRIPS_TRACE: '1' }) },
    startTimeoutMs: 300_000,
    ...(liftoffOnly(options) && { nodeArgs: ['--liftoff-only'] }),
  });
  try {
    const platformSec = (performance.now() - setupStarted) / 1000;
    say(`${run.label}: platform ready in ${platformSec.toFixed(1)} s (pid ${platform.pid})`);

    const carsStarted = performance.now();
    const city = generateCity();
    const { cars } = await provisionFleet({
      count: run.cars,
      store: new FleetStore(dataDir),
      registrar: new GatewayCarRegistrar({ apiUrl: platform.info.gatewayUrl, credentials: operator, timeoutMs: 60_000 }),
      city,
      seed: 1,
    });
    // Devices that ack at once and never drive off on their own: the run measures the platform's
    // share of a trip, not an actuator's second or a car wandering out of the zones.
    fleet = new FleetSimulator({
      city,
      cars,
      connect: mqttDeviceConnector({ url: `mqtt://127.0.0.1:${platform.info.mqttPort}` }),
      time: { clock: systemClock, scheduler: systemScheduler },
      settings: { commandDelayMs: [0, 0], riderPauseMs: [86_400_000, 86_400_000], ambientTripsPerHour: 0, reportIntervalMs: 10_000, tickMs: 1_000 },
    });
    await fleet.start();
    const carsSec = (performance.now() - carsStarted) / 1000;
    say(`${run.label}: ${cars.length} cars created and connected in ${carsSec.toFixed(1)} s`);

    const ridersStarted = performance.now();
    const api = new PublicApi({ apiUrl: platform.info.gatewayUrl, timeoutMs: 60_000 });
    const backOffice = new ApiSession(api, operator);
    // One at a time: on PostgreSQL the user service answers concurrent sign-ups from one address
    // 429 REGISTRATION_THROTTLED (a lost compare-and-set on its attempt count), throttle lifted or not.
    const riders = await inBatches(run.riders, 1, (index) => onboardRider({ api, identity: newRiderIdentity(index), backOffice, now: Date.now }));
    const ridersSec = (performance.now() - ridersStarted) / 1000;
    say(`${run.label}: ${riders.length} riders signed up, approved and carded in ${ridersSec.toFixed(1)} s`);

    // Each rider drives its own cars in turn (a car just locked is free again before its next turn).
    const carsOf = riders.map((_, rider) => cars.filter((_, index) => index % riders.length === rider).map((car) => car.carId));
    const loop = async (seconds: number, record: boolean) => {
      const samples = { trip: [] as number[], start: [] as number[], finish: [] as number[], failures: {} as Record<string, number>, lastTripId: undefined as string | undefined };
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        riders.map(async (rider, index) => {
          const own = carsOf[index] as string[];
          for (let turn = 0; performance.now() < until; turn++) {
            const carId = own[turn % own.length] as string;
            const began = performance.now();
            try {
              const trip = await rider.call<{ id: string }>('POST', '/v1/trips', { body: { carId }, idempotencyKey: randomUUID() });
              const started = performance.now();
              await rider.call('POST', `/v1/trips/${trip.id}/finish`, { idempotencyKey: randomUUID() });
              const finished = performance.now();
              if (record) {
                samples.start.push(started - began);
                samples.finish.push(finished - started);
                samples.trip.push(finished - began);
                samples.lastTripId = trip.id;
              }
            } catch (error) {
              const code = error instanceof PublicApiError ? error.code : (error as Error).name;
              samples.failures[code] = (samples.failures[code] ?? 0) + 1;
              // A refused trip leaves nothing to wait for; do not spin on a broken platform.
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }
        }),
      );
      return samples;
    };

    if (options.warmupSec > 0) {
      await loop(options.warmupSec, false);
      say(`${run.label}: ${options.warmupSec} s of warm-up done`);
    }
    // --profile: a CPU profile of the platform during exactly the measured run (where a trip's CPU goes).
    const profileFile = options.flags['profile'] ? profileFileFor('trips', run.label.replace(/[^a-z0-9]+/gi, '-').toLowerCase(), new Date()) : undefined;
    if (profileFile) await platform.startProfile();
    const traceUrl = platform.info.traceUrl;
    if (traceUrl) await fetch(traceUrl, { method: 'POST' });
    // The platform's own background (relays' idle polls, sweepers, the cars' reports) with no
    // trips: at a few trips per second on a busy machine it is a large share of "CPU per trip".
    const idleSec = 3;
    const idleBefore = cpuSecondsOf(platform.pid) ?? Number.NaN;
    await new Promise((resolve) => setTimeout(resolve, idleSec * 1000));
    const idleCores = ((cpuSecondsOf(platform.pid) ?? Number.NaN) - idleBefore) / idleSec;
    const cpuBefore = cpuSecondsOf(platform.pid) ?? Number.NaN;
    const benchBefore = process.cpuUsage();
    const machineBefore = machineBusySeconds() ?? Number.NaN;
    const measuredStarted = performance.now();
    const samples = await loop(options.durationSec, true);
    const durationSec = (performance.now() - measuredStarted) / 1000;
    const platformCpu = (cpuSecondsOf(platform.pid) ?? Number.NaN) - cpuBefore;
    const benchUsage = process.cpuUsage(benchBefore);
    const benchCpu = (benchUsage.user + benchUsage.system) / 1e6;
    const machineCpu = (machineBusySeconds() ?? Number.NaN) - machineBefore;
    if (profileFile) {
      await platform.stopProfile(profileFile);
      say(`${run.label}: CPU profile in ${profileFile} (node --import tsx bench/src/summarize-cpu-profile.ts ${profileFile} --requests ${samples.trip.length})`);
    }
    const traced = traceUrl ? ((await (await fetch(traceUrl)).json()) as TraceReport) : undefined;
    const sampleSteps = samples.lastTripId
      ? await backOffice.call<Timeline>('GET', `/v1/admin/trips/${samples.lastTripId}/timeline`).then(stepTimes, (error: unknown) => [`timeline not read: ${(error as Error).message}`])
      : [];
    const result: TripRun = {
      label: run.label,
      trips: samples.trip.length,
      durationSec,
      tripsPerSec: samples.trip.length / durationSec,
      tripMs: percentiles(samples.trip),
      startMs: percentiles(samples.start),
      finishMs: percentiles(samples.finish),
      failures: samples.failures,
      platformCpuMsPerTrip: (platformCpu * 1000) / samples.trip.length,
      platformCpuMsPerTripNetOfIdle: ((platformCpu - idleCores * durationSec) * 1000) / samples.trip.length,
      idleCores,
      cpu: { platform: platformCpu / durationSec, bench: benchCpu / durationSec, others: Math.max(0, machineCpu - platformCpu - benchCpu) / durationSec },
      setupSec: { platform: platformSec, cars: carsSec, riders: ridersSec },
      sampleSteps,
      ...(traced && { trace: describeTrace(traced, samples.trip.length), traced }),
    };
    say(`${run.label}: ${result.trips} trips in ${durationSec.toFixed(1)} s = ${result.tripsPerSec.toFixed(1)} trips/s, p99 ${result.tripMs.p99.toFixed(0)} ms`);
    return result;
  } finally {
    await fleet?.stop();
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function describeRun(run: TripRun): string[] {
  const ms = (p: Percentiles) => `p50 ${p.p50.toFixed(1)}  p90 ${p.p90.toFixed(1)}  p99 ${p.p99.toFixed(1)}  max ${p.max.toFixed(1)} ms`;
  const failures = Object.entries(run.failures).map(([code, count]) => `${code} ${count}`).join(', ');
  return [
    `  ${run.label}: ${run.tripsPerSec.toFixed(1)} trips/s (${run.trips} trips in ${run.durationSec.toFixed(1)} s)${failures ? `; failed: ${failures}` : ''}`,
    `    start→finish ${ms(run.tripMs)}`,
    `    start        ${ms(run.startMs)}`,
    `    finish       ${ms(run.finishMs)}`,
    `    platform CPU ${run.platformCpuMsPerTrip.toFixed(2)} ms per trip (${run.platformCpuMsPerTripNetOfIdle.toFixed(2)} net of the ${run.idleCores.toFixed(3)} cores it uses idle); cores busy: platform ${run.cpu.platform.toFixed(2)}, bench (riders + devices) ${run.cpu.bench.toFixed(2)}, others ${run.cpu.others.toFixed(2)}`,
    `    set-up: platform ${run.setupSec.platform.toFixed(1)} s, cars ${run.setupSec.cars.toFixed(1)} s, riders ${run.setupSec.riders.toFixed(1)} s`,
    ...run.sampleSteps.map((line) => `    last trip's ${line}`),
    ...(run.trace ?? []),
  ];
}

export const runTripsBenchmark: BenchmarkRun = async (options): Promise<BenchReport> => {
  const riders = integerFlag(options, 'riders', options.connections);
  const carsPerRider = integerFlag(options, 'cars-per-rider', 2);
  const cars = integerFlag(options, 'cars', riders * carsPerRider);
  if (cars < riders) throw new Error(`--cars (${cars}) must be at least --riders (${riders}): each rider drives cars of its own`);
  const databaseUrl = typeof options.flags['database-url'] === 'string' ? options.flags['database-url'] : undefined;
  const amqpUrl = typeof options.flags['amqp-url'] === 'string' ? options.flags['amqp-url'] : undefined;
  const loadBefore = loadavg()[0] as number;
  say(`${riders} riders, ${cars} cars, ${options.warmupSec} s warm-up + ${options.durationSec} s measured per platform; ${platformSettings(options)}; load average ${loadBefore.toFixed(1)}`);

  const runs: TripRun[] = [await measurePlatform(options, { label: 'embedded (PGlite, in-process bus)', env: {}, riders, cars })];

  // The reference, in the same run at the same concurrency: the bare hop of gateway/hop-server.ts.
  const hopServer = await spawnChildServer<{ url: string }>(hopScript);
  let hop: LoadStats;
  try {
    hop = await measureLoad({ url: hopServer.info.url }, { durationSec: options.durationSec, warmupSec: options.warmupSec, connections: riders, serverPid: hopServer.pid, loadGenerator: chooseLoadGenerator(options.flags['loadgen']) });
  } finally {
    await hopServer.stop();
  }
  say(`bare hop: ${hop.requestsPerSec.toFixed(0)} req/s, p99 ${hop.latencyMs.p99.toFixed(2)} ms, ${hop.cpuMicrosPerRequest.toFixed(0)} µs CPU per request`);

  if (databaseUrl || amqpUrl) {
    const database = databaseUrl ? await freshDatabase(databaseUrl) : undefined;
    const vhost = amqpUrl ? await freshVirtualHost(amqpUrl) : undefined;
    try {
      runs.push(
        await measurePlatform(options, {
          label: `${database ? 'PostgreSQL' : 'PGlite'} + ${vhost ? 'RabbitMQ' : 'in-process bus'}`,
          env: { ...(database && { DATABASE_URL: database.url }), ...(vhost && { AMQP_URL: vhost.url }) },
          riders,
          cars,
        }),
      );
    } finally {
      await database?.drop();
      await vhost?.drop();
    }
  } else {
    say('PostgreSQL + RabbitMQ not measured: pass --database-url postgres://… and --amqp-url amqp://…');
  }

  const loadAfter = loadavg()[0] as number;
  const embedded = runs[0] as TripRun;
  const goals = [atLeast('embedded trips/s', embedded.tripsPerSec, 100)];
  const summary = [
    `trips: start→finish through the gateway, ${riders} riders in a closed loop, ${cars} cars, ${platformSettings(options)}; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`,
    ...runs.flatMap(describeRun),
    `  bare RPC hop (fastify → undici → fastify, same run, ${riders} connections, ${hop.loadGenerator}): ${hop.requestsPerSec.toFixed(0)} req/s, p99 ${hop.latencyMs.p99.toFixed(2)} ms, ${hop.cpuMicrosPerRequest.toFixed(0)} µs CPU/req`,
    ...runs.map((run) => `  ${run.label}: one trip costs the throughput of ${(hop.requestsPerSec / run.tripsPerSec).toFixed(0)} bare hops; ${((run.platformCpuMsPerTrip * 1000) / hop.cpuMicrosPerRequest).toFixed(0)} hops' CPU`),
    ...goals.map((goal) => `  ${formatGoal(goal, 28, 1)}`),
  ].join('\n');
  return { results: { riders, cars, processorStore: processorStoreOf(options), liftoffOnly: liftoffOnly(options), loadAverage: { before: loadBefore, after: loadAfter }, runs, hop }, summary, goals };
};
