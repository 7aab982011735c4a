import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiSession, PublicApi, PublicApiError, newRiderIdentity, onboardRider } from '@carshare/simulator';
import { freePort, spawnService, type SpawnServiceOptions, type SpawnedService } from '@carshare/testing';
import { demoAccounts } from '@carshare/user-service';
import { createFreshDatabase, type FreshDatabase } from './support/fresh-database.ts';
import { RpcGate, type GatePhase, type HeldCall } from './support/rpc-gate.ts';
import { startSimulatedFleet, type SimulatedFleet } from './support/simulated-fleet.ts';
import { checkTripInvariants, describeInvariantReport, openSimulatedProcessorReader, operatorApi, type OperatorApi } from './support/trip-invariants.ts';

// Issue 14, acceptance 3: the trip and payment services run as real processes and are SIGKILLed
// inside each saga step in turn during a loop of trip starts and finishes through the gateway;
// after each restart the loop goes on, and at the end the invariant check must hold (no car in
// use without a live trip, no open hold without a live trip, every finished trip captured exactly
// once, the ledger at zero).
//
//   test ──▶ gateway ──▶ trip ──▶ gate ──▶ car      (every box a `carshare service …` process;
//                          │  └──▶ gate ──▶ payment   the gates are RpcGate relays in this process)
//                          └───▶ gate ──▶ profile
//
// A kill lands in a step because the gate holds the step's own RPC (before forwarding it, or
// after the callee answered) and tells the test: the victim provably waits on that call when it
// dies. No sleeps decide where a kill lands.
//
// Short form (every `npm test`): two kills, the riskiest ones. TRIP_CRASH_FULL=1: every point.

interface KillPoint {
  name: string;
  saga: 'start' | 'finish';
  victim: 'trip' | 'payment';
  gate: 'car' | 'payment' | 'profile';
  method: string;
  phase: GatePhase;
}

const killPoints: readonly KillPoint[] = [
  { name: 'trip dies checking the profile', saga: 'start', victim: 'trip', gate: 'profile', method: 'IsVerified', phase: 'request' },
  { name: 'trip dies after the car was claimed', saga: 'start', victim: 'trip', gate: 'car', method: 'Claim', phase: 'response' },
  { name: 'trip dies asking for the deposit', saga: 'start', victim: 'trip', gate: 'payment', method: 'Authorize', phase: 'request' },
  { name: 'trip dies after the deposit was held', saga: 'start', victim: 'trip', gate: 'payment', method: 'Authorize', phase: 'response' },
  { name: 'payment dies after holding the deposit', saga: 'start', victim: 'payment', gate: 'payment', method: 'Authorize', phase: 'response' },
  { name: 'trip dies after the car unlocked', saga: 'start', victim: 'trip', gate: 'car', method: 'Unlock', phase: 'response' },
  { name: 'trip dies measuring the route', saga: 'finish', victim: 'trip', gate: 'car', method: 'TelemetrySince', phase: 'request' },
  { name: 'trip dies after the car locked', saga: 'finish', victim: 'trip', gate: 'car', method: 'Lock', phase: 'response' },
  { name: 'trip dies asking for the capture', saga: 'finish', victim: 'trip', gate: 'payment', method: 'Capture', phase: 'request' },
  { name: 'trip dies after the capture', saga: 'finish', victim: 'trip', gate: 'payment', method: 'Capture', phase: 'response' },
  { name: 'payment dies after capturing', saga: 'finish', victim: 'payment', gate: 'payment', method: 'Capture', phase: 'response' },
];

const full = process.env['TRIP_CRASH_FULL'] === '1';
const serverUrl = process.env['DATABASE_URL'];
/**
 * Where the processes keep their data: a fresh database on the PostgreSQL server of DATABASE_URL
 * (CI; a schema is made in milliseconds), or with TRIP_CRASH_PGLITE=1 a PGlite folder per process
 * (each costs seconds of CPU to create: minutes on a busy 2-core machine, so only on request).
 */
const storage = serverUrl ? 'postgres' : process.env['TRIP_CRASH_PGLITE'] === '1' ? 'pglite' : undefined;
/** The short form: a hold and a charge made downstream whose acknowledgement died with the trip service (the lost-hold and double-charge risks). */
const shortForm = ['trip dies after the deposit was held', 'trip dies after the capture'];
/**
 * Points where the platform is known to break, with why: they keep their assertions, run in the
 * full form only, and are reported as todo until fixed (as the chaos suite's knownBugs). None
 * today: the two payment kills passed once the simulated processor kept its books in its own
 * schema instead of the payment process's memory (ADR 0027).
 */
const knownBugs: Record<string, string> = {};
/**
 * The trip service's saga lease (`sagas.leaseMs`, 15 s by default): a restarted trip service takes
 * its dead predecessor's sagas over this long after their last renewal, so every trip kill waits
 * it out. Shorter here to keep the full loop short; long enough that a renewal (every third of it)
 * survives a stall of a busy machine.
 */
const sagaLeaseMs = 6_000;
const points = full ? killPoints : killPoints.filter((point) => shortForm.includes(point.name));

// Variables a developer's shell may set that would point these processes at shared servers.
const isolated = {
  DATABASE_URL: undefined,
  REDIS_URL: undefined,
  AMQP_URL: undefined,
  MQTT_URL: undefined,
  OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
  CARSHARE_CONFIG: undefined,
  LOG_LEVEL: 'warn',
  LOG_PRETTY: 'false',
} as const;

const services = ['user', 'blob', 'profile', 'car', 'payment', 'trip', 'gateway'] as const;
type ServiceName = (typeof services)[number];
type ProcessName = 'backdrop' | 'payment' | 'trip';

/** The variables that are set: the backdrop's services get theirs as JSON, where unset cannot be said. */
function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

interface Trip {
  id: string;
  riderId: string;
  carId: string;
  status: string;
  createdAt: string;
  failureReason: string | null;
}

describe('trips survive SIGKILL of the trip and payment services at every saga step', {
  timeout: full ? 1_200_000 : 280_000,
  skip: storage ? false : 'DATABASE_URL is not set: the crash loop runs on PostgreSQL (TRIP_CRASH_PGLITE=1 runs it on PGlite folders)',
}, () => {
  let dataDir: string;
  let database: FreshDatabase | undefined;
  const running = new Map<ProcessName, SpawnedService>();
  const spawnOptions = new Map<ProcessName, SpawnServiceOptions>();
  const gates = new Map<'car' | 'payment' | 'profile', RpcGate>();
  let api: PublicApi;
  let operator: OperatorApi;
  let fleet: SimulatedFleet | undefined;
  const riders: Array<{ session: ApiSession; userId: string }> = [];
  const kills: Array<{ point: string; signal: NodeJS.Signals | null }> = [];

  function tails(): string {
    return [...running.values()].map((service) => `── ${service.name} (pid ${service.pid}) ──\n${service.tail(15)}`).join('\n');
  }

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'carshare-trip-crash-'));
    database = storage === 'postgres' ? await createFreshDatabase(serverUrl as string) : undefined;
    const ports = Object.fromEntries(await Promise.all(services.map(async (name) => [name, await freePort()] as const))) as Record<ServiceName, number>;
    const mqttPort = await freePort();
    const url = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
    for (const name of ['car', 'payment', 'profile'] as const) gates.set(name, await RpcGate.start({ port: ports[name] }));
    const urls = {
      USER_URL: url('user'),
      BLOB_URL: url('blob'),
      PROFILE_URL: url('profile'),
      CAR_URL: url('car'),
      PAYMENT_URL: url('payment'),
      TRIP_URL: url('trip'),
    };
    const envOf = (name: ServiceName): Record<string, string | undefined> => {
      const prefix = name.toUpperCase();
      const common = { ...isolated, ...urls, CARSHARE_DATA_DIR: join(dataDir, name), DATABASE_URL: database?.url };
      switch (name) {
        case 'gateway':
          return { ...common, PORT: String(ports.gateway), GATEWAY_HOST: '127.0.0.1', RATE_LIMITS_ENABLED: 'false' };
        case 'trip':
          // The trip service reaches its saga's callees only through the gates.
          return {
            ...common,
            TRIP_HOST: '127.0.0.1',
            TRIP_PORT: String(ports.trip),
            TRIP_SAGA_LEASE_MS: String(sagaLeaseMs),
            CAR_URL: (gates.get('car') as RpcGate).url,
            PAYMENT_URL: (gates.get('payment') as RpcGate).url,
            PROFILE_URL: (gates.get('profile') as RpcGate).url,
          };
        case 'car':
          return { ...common, CAR_HOST: '127.0.0.1', CAR_PORT: String(ports.car), CAR_MQTT_PORT: String(mqttPort), CAR_COMMAND_TIMEOUT_MS: '5000' };
        case 'profile':
          // Simulated licences are unreadable: the operator approves them; no OCR worker to burn CPU.
          return { ...common, PROFILE_HOST: '127.0.0.1', PROFILE_PORT: String(ports.profile), PROFILE_OCR_WORKER: 'false' };
        case 'user':
        case 'blob':
        case 'payment':
          return { ...common, [`${prefix}_HOST`]: '127.0.0.1', [`${prefix}_PORT`]: String(ports[name]) };
      }
    };
    // The backdrop (user with the demo operator seeded, blob, profile, car, gateway) shares one
    // process; trip and payment, the victims, get one each.
    const backdrop = (['user', 'blob', 'profile', 'car', 'gateway'] as const).map((name) => ({ name, env: definedOnly(envOf(name)), seed: name === 'user' }));
    spawnOptions.set('backdrop', {
      name: 'backdrop',
      command: [process.execPath, '--import', 'tsx', 'e2e/src/support/services-host.ts'],
      args: [JSON.stringify(backdrop)],
      env: isolated,
      readyUrl: url('gateway'),
      readyTimeoutMs: 120_000,
    });
    for (const name of ['payment', 'trip'] as const) spawnOptions.set(name, { name, args: ['service', name], env: envOf(name), readyUrl: url(name), readyTimeoutMs: 120_000 });
    const started = await Promise.allSettled(
      (['backdrop', 'payment', 'trip'] as const).map(async (name) => running.set(name, await spawnService(spawnOptions.get(name) as SpawnServiceOptions))),
    );
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    await (running.get('backdrop') as SpawnedService).waitForLine(/services-host: .* ready/, 120_000);

    api = new PublicApi({ apiUrl: url('gateway'), timeoutMs: 30_000 });
    operator = await operatorApi({ apiUrl: url('gateway'), email: demoAccounts.operator.email, password: demoAccounts.operator.password, timeoutMs: 30_000 });
    const backOffice = new ApiSession(api, demoAccounts.operator);
    fleet = await startSimulatedFleet({ apiUrl: url('gateway'), mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, operator: demoAccounts.operator, count: 3, dataDir });
    for (let index = 0; index < 2; index++) {
      const session = await onboardRider({ api, identity: newRiderIdentity(index), backOffice, now: Date.now });
      riders.push({ session, userId: await session.userId() });
    }
  });

  after(async () => {
    await fleet?.stop();
    await Promise.all([...running.values()].map((service) => service.dispose()));
    await Promise.all([...gates.values()].map((gate) => gate.close()));
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** SIGKILLs the victim while the gate holds its call, breaks that call, and starts the victim again on its port and data. */
  async function crash(point: KillPoint, held: HeldCall): Promise<void> {
    const victim = running.get(point.victim) as SpawnedService;
    process.kill(victim.pid, 'SIGKILL');
    const exit = await victim.exited;
    kills.push({ point: point.name, signal: exit.signal });
    held.cut();
    running.set(point.victim, await spawnService(spawnOptions.get(point.victim) as SpawnServiceOptions));
  }

  async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms\n${tails()}`)), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function anAvailableCar(): Promise<string> {
    const until = Date.now() + 60_000;
    for (;;) {
      const page = await operator.get<{ items: Array<{ id: string }> }>('/v1/admin/cars', { state: 'available', limit: 1 });
      if (page.items[0]) return page.items[0].id;
      if (Date.now() > until) throw new Error(`no car became available\n${tails()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * The rider's newest trip created since `since`, once it is out of the saga states: a restarted
   * trip service takes the dead instance's sagas over when their lease runs out, then resumes or
   * compensates them.
   */
  async function settledTrip(riderId: string, since: number): Promise<Trip | undefined> {
    const until = Date.now() + 90_000;
    for (;;) {
      const page = await operator.get<{ items: Trip[] }>('/v1/admin/trips', { riderId, limit: 5 });
      const trip = page.items.find((candidate) => Date.parse(candidate.createdAt) >= since - 1_000);
      if (trip && trip.status !== 'starting' && trip.status !== 'finishing') return trip;
      if (!trip && Date.now() > until - 60_000) return undefined;
      if (Date.now() > until) throw new Error(`trip ${trip?.id} stayed ${trip?.status}\n${tails()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** The call's outcome without throwing: a crash mid-call answers 5xx, which is the point. */
  async function outcome<T>(call: Promise<T>): Promise<T | PublicApiError> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof PublicApiError) return error;
      throw error;
    }
  }

  /** One start and finish, with `point` (if any) killing its victim inside its step. */
  async function round(index: number, point: KillPoint | undefined): Promise<Trip | undefined> {
    const rider = riders[index % riders.length] as { session: ApiSession; userId: string };
    const carId = await anAvailableCar();
    const since = Date.now();
    const gate = point && (gates.get(point.gate) as RpcGate);

    const startHeld = point?.saga === 'start' ? gate?.hold(point.method, point.phase) : undefined;
    const starting = outcome(rider.session.call<Trip>('POST', '/v1/trips', { body: { carId }, idempotencyKey: randomUUID() }));
    if (point && startHeld) await crash(point, await withTimeout(startHeld, 30_000, `${point.name}: the ${point.method} call never came`));
    await starting;
    let trip = await settledTrip(rider.userId, since);
    if (!trip || trip.status !== 'in_progress') return trip;

    const finishHeld = point?.saga === 'finish' ? gate?.hold(point.method, point.phase) : undefined;
    const finishing = outcome(rider.session.call<Trip>('POST', `/v1/trips/${trip.id}/finish`, { idempotencyKey: randomUUID() }));
    if (point && finishHeld) await crash(point, await withTimeout(finishHeld, 30_000, `${point.name}: the ${point.method} call never came`));
    await finishing;
    trip = (await settledTrip(rider.userId, since)) as Trip;
    if (trip.status === 'in_progress') {
      // The finish was undone (the car unlocked again, the trip goes on): the rider ends it again.
      const again = await outcome(rider.session.call<Trip>('POST', `/v1/trips/${trip.id}/finish`, { idempotencyKey: randomUUID() }));
      assert.ok(!(again instanceof PublicApiError), `finishing ${trip.id} again after ${point?.name}: ${String(again instanceof Error && again.message)}`);
      trip = (await settledTrip(rider.userId, since)) as Trip;
    }
    assert.equal(trip.status, 'finished', `after ${point?.name ?? 'a clean round'}: ${JSON.stringify(trip)}`);
    gate?.disarm();
    return trip;
  }

  const finished: string[] = [];
  let roundIndex = 0;

  it('starts and finishes a trip through the gateway before anything is killed', async () => {
    const trip = await round(roundIndex++, undefined);
    assert.equal(trip?.status, 'finished');
    finished.push((trip as Trip).id);
  });

  for (const point of points) {
    it(point.name, { ...(knownBugs[point.name] && { todo: knownBugs[point.name] }) }, async () => {
      const trip = await round(roundIndex++, point);
      assert.equal(kills.at(-1)?.point, point.name, 'the kill landed in the step');
      assert.equal(kills.at(-1)?.signal, 'SIGKILL');
      // A start the kill made fail is compensated (the loop goes on with the car free again); a
      // trip that started is finished by the round, whatever the kill did to the finish.
      if (trip?.status === 'finished') finished.push(trip.id);
      else assert.ok(point.saga === 'start' && trip?.status === 'failed', `after ${point.name}: ${JSON.stringify(trip)}`);
    });
  }

  it(`keeps the invariants after ${points.length} kills (${full ? 'full loop' : 'short form; TRIP_CRASH_FULL=1 for every step'})`, async () => {
    // The processor's own books too (its schema in the payment process's database): on PGlite the
    // running payment process holds its folder, so there our books are all that is read.
    const processor = database ? await openSimulatedProcessorReader({ database: database.url }) : undefined;
    let report;
    try {
      report = await checkTripInvariants(operator, { confirmAfterMs: 2_000, processor });
    } finally {
      await processor?.close();
    }
    assert.ok(report.ok, describeInvariantReport(report));
    if (database) assert.ok((report.counts.processorIntents ?? 0) >= finished.length, `the processor was read: ${describeInvariantReport(report)}`);
    // The check looked at something: every finished round is a finished trip it verified.
    assert.ok(finished.length >= 1 && report.counts.finishedTrips >= finished.length, describeInvariantReport(report));
    assert.ok(report.counts.ledgerMovements > 0, 'the ledger was read');
  });
});
