import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serviceRegistry } from '@carshare/cli';
import { RiderRoster, RiderTraffic, type JourneyReport, type RiderTrafficSettings } from '@carshare/simulator';
import { FakeClock, ManualScheduler } from '@carshare/testing';
import { demoAccounts } from '@carshare/user-service';
import { startSimulatedFleet, type SimulatedFleet } from './support/simulated-fleet.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

// Issue 14, simulated riders: the platform's own load generator rides through the public API of
// a real embedded platform (the real car service and its MQTT devices, payment, profile, trip).
// The riders' own timers (the rate, the walk, the drive) run on a fake clock the test moves; the
// HTTP calls and the devices' acks are real.

/** Riders that walk for a second and drive for half a minute of the fake clock, looking city-wide. */
const quick: Partial<RiderTrafficSettings> = {
  tripEveryMs: 20_000,
  riders: 1,
  searchRadiusM: 50_000,
  walkMs: [1_000, 1_000],
  driveMs: [30_000, 30_000],
  parkRetryMs: 10_000,
  finishAttempts: 3,
  retries: 2,
  retryDelayMs: 1_000,
};

function manualTime() {
  const clock = new FakeClock(Date.now());
  const scheduler = new ManualScheduler(clock);
  return { clock, scheduler };
}

/** Moves the riders' clock a second at a time, letting real I/O happen in between, until `done`. */
async function pumpUntil(scheduler: ManualScheduler, done: () => boolean, what: string, realTimeoutMs = 90_000): Promise<void> {
  const until = Date.now() + realTimeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    scheduler.advance(1_000);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('simulated riders', () => {
  let t: TestPlatform;
  let fleet: SimulatedFleet;
  let operatorToken: string;
  let scratch: string;

  before(async () => {
    // No OCR worker: a simulated licence is unreadable anyway, and tesseract would only burn CPU;
    // the profile then waits for the back office, exactly as with an unreadable photo.
    t = await startTestPlatform({ seedDemo: true, overrides: { profile: { 'ocr.worker': false } } });
    scratch = mkdtempSync(join(tmpdir(), 'carshare-riders-'));
    const car = t.platform.module(serviceRegistry.find('car') as NonNullable<ReturnType<typeof serviceRegistry.find>>) as unknown as { gateway: { port: number } };
    fleet = await startSimulatedFleet({ apiUrl: t.platform.gatewayUrl, mqttUrl: `mqtt://127.0.0.1:${car.gateway.port}`, operator: demoAccounts.operator, count: 3, dataDir: scratch });
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: demoAccounts.operator.email, password: demoAccounts.operator.password } });
    assert.equal(login.status, 200, login.text);
    operatorToken = login.body.tokens.accessToken as string;
  });

  after(async () => {
    await fleet?.stop();
    await t?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function simulatedRiderCount(): Promise<number> {
    const page = await t.api.call('GET', '/v1/admin/users', { token: operatorToken, query: { search: 'sim-rider-', limit: 100 } });
    assert.equal(page.status, 200, page.text);
    return (page.body.items as unknown[]).length;
  }

  it('does nothing at rate 0: no timer, no sign-up', async () => {
    const time = manualTime();
    const traffic = new RiderTraffic({ apiUrl: t.platform.gatewayUrl, operator: demoAccounts.operator, city: fleet.city, time, settings: { ...quick, tripEveryMs: 0 } });
    await traffic.start();
    assert.equal(time.scheduler.pending, 0);
    time.scheduler.advance(3_600_000);
    await traffic.stop();
    assert.equal(traffic.stats.journeysStarted, 0);
    assert.equal(await simulatedRiderCount(), 0);
  });

  it('signs a rider up, has the licence approved by the back office, and rides a car: reserve, start, drive, finish inside a zone, pay', async () => {
    const time = manualTime();
    const reports: JourneyReport[] = [];
    const roster = new RiderRoster(scratch);
    const traffic = new RiderTraffic({ apiUrl: t.platform.gatewayUrl, operator: demoAccounts.operator, city: fleet.city, time, roster, settings: quick, onJourney: (report) => reports.push(report) });
    await traffic.start();
    time.scheduler.advance(19_999);
    assert.equal(traffic.stats.journeysStarted, 0, 'no trip before the first interval has passed');
    time.scheduler.advance(1);
    assert.equal(traffic.stats.journeysStarted, 1, 'one trip start once the interval has passed');
    await pumpUntil(time.scheduler, () => reports.length > 0, 'the first journey');
    await traffic.stop();
    const [report] = reports;
    assert.equal(report?.outcome, 'finished', JSON.stringify(report));
    assert.equal(traffic.stats.tripsStarted, 1);
    assert.equal(traffic.stats.ridersOnboarded, 1);

    // What the platform now holds, read as an operator would.
    const trip = await t.api.call('GET', `/v1/trips/${report.tripId}`, { token: operatorToken });
    assert.equal(trip.status, 200, trip.text);
    assert.equal(trip.body.status, 'finished');
    const rider = trip.body.riderId as string;
    const review = await t.api.call('GET', `/v1/admin/reviews/${rider}`, { token: operatorToken });
    assert.equal(review.body.profile.status, 'verified', review.text);
    assert.equal(review.body.profile.verifiedBy, 'operator');
    const car = await t.api.call('GET', `/v1/admin/cars/${trip.body.carId}`, { token: operatorToken });
    assert.equal(car.body.state, 'available', 'the car is free again after the trip');
    assert.equal(car.body.locked, true);
    const payments = await t.api.call('GET', '/v1/admin/payments', { token: operatorToken, query: { riderId: rider, limit: 10 } });
    assert.deepEqual(
      (payments.body.items as Array<{ reference: string; status: string }>).map((payment) => [payment.reference, payment.status]),
      [[report.tripId, 'captured']],
    );

    // The login is kept for the next run, readable by its owner only: it holds a password.
    assert.equal(statSync(roster.path).mode & 0o777, 0o600);
    assert.equal((await roster.load()).length, 1);
  });

  it('reuses the riders of riders.json after a restart instead of signing up new ones, and ends the trip a hard stop left open', async () => {
    const before = await simulatedRiderCount();
    assert.equal(before, 1);
    // The previous run was killed mid-drive: its rider's trip is still in progress.
    const [identity] = await new RiderRoster(scratch).load();
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: identity?.email, password: identity?.password } });
    const cars = await t.api.call('GET', '/v1/admin/cars', { token: operatorToken, query: { state: 'available', limit: 1 } });
    const leftOver = await t.api.call('POST', '/v1/trips', {
      token: login.body.tokens.accessToken,
      body: { carId: cars.body.items[0].id },
      headers: { 'idempotency-key': randomUUID() },
    });
    assert.equal(leftOver.status, 201, leftOver.text);
    const time = manualTime();
    const reports: JourneyReport[] = [];
    const traffic = new RiderTraffic({ apiUrl: t.platform.gatewayUrl, operator: demoAccounts.operator, city: fleet.city, time, roster: new RiderRoster(scratch), settings: quick, onJourney: (report) => reports.push(report) });
    await traffic.start();
    void traffic.launch();
    await pumpUntil(time.scheduler, () => reports.length > 0, 'the second journey');
    await traffic.stop();
    assert.equal(reports[0]?.outcome, 'finished', JSON.stringify(reports[0]));
    assert.equal(await simulatedRiderCount(), 1, 'no second sign-up');
    const ended = await t.api.call('GET', `/v1/trips/${leftOver.body.id}`, { token: operatorToken });
    assert.equal(ended.body.status, 'finished', 'the trip left open was finished before the next one');
  });
});
