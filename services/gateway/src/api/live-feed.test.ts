import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { CarStateChanged, CarTelemetry, liveFeed, type EventEnvelope, type LiveCar, type LiveServerMessage, type carRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { createHttpServer, systemClock, type HttpServer, type RpcClient, type Scheduler, type VerifiedCaller } from '@carshare/platform';
import { WebSocket } from 'ws';
import type { BroadcastEventSource } from '../live/broadcast-fleet-updates.ts';
import type { LiveHub } from '../live/live-hub.ts';
import { registerLiveFeed } from './live-feed.ts';
import { routeDepsFor } from '../testing/route-deps.ts';

const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
const callers: VerifiedCaller[] = [
  { userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', token: 'rider-token', issuedAtMs: 0 },
  { userId: '0190f000-0000-7000-8000-000000000003', role: 'rider', plan: 'free', token: 'other-rider-token', issuedAtMs: 0 },
  { userId: '0190f000-0000-7000-8000-000000000002', role: 'operator', plan: 'unlimited', token: 'operator-token', issuedAtMs: 0 },
];
const centre = { lat: 52.52, lng: 13.405 };
const northOf = (metres: number) => centre.lat + metres / 111_320;
// Each test uses its own car numbers: the hub remembers cars across connections, as it should.
const id = (n: number) => `0190b5a0-0000-7000-8000-${String(n).padStart(12, '0')}`;

/** The fleet as the car service would answer for it: Nearby gives available cars in the radius. */
class FakeFleet {
  cars = new Map<string, LiveCar>();

  put(car: LiveCar): void {
    this.cars.set(car.id, car);
  }

  client(): RpcClient<typeof carRpc.methods> {
    const cars = this.cars;
    return {
      async Nearby(input: { lat: number; lng: number; radiusM: number; limit: number }) {
        const items = [...cars.values()]
          .filter((car) => car.state === 'available' && Math.abs(car.lat - input.lat) * 111_320 <= input.radiusM)
          .map((car) => ({ id: car.id, plate: 'B-SC 1', model: 'm', category: 'small', seats: 4, fuelType: 'electric', position: { lat: car.lat, lng: car.lng }, energyPct: car.energyPct, distanceM: 0 }));
        return { items };
      },
      async ListCars(input: { cursor?: string }) {
        const all = [...cars.values()];
        const start = input.cursor ? Number(input.cursor) : 0;
        const page = all.slice(start, start + 2);
        return {
          items: page.map((car) => ({ ...car, position: { lat: car.lat, lng: car.lng }, lastSeenAt: new Date(car.ts).toISOString(), updatedAt: new Date(car.ts).toISOString() })),
          nextCursor: start + 2 < all.length ? String(start + 2) : null,
        };
      },
    } as unknown as RpcClient<typeof carRpc.methods>;
  }
}

/** The flush timer, moved by hand: throttling is checked without waiting. */
class ManualScheduler implements Scheduler {
  #next = 0;
  readonly #timers = new Map<number, () => void>();

  setTimeout(callback: () => void): unknown {
    const handle = ++this.#next;
    this.#timers.set(handle, callback);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Runs the timers set so far (one flush interval passes). */
  tick(): void {
    const due = [...this.#timers];
    this.#timers.clear();
    for (const [, callback] of due) callback();
  }
}

/** A bus with one broadcast subscriber, fed by the test. */
class FakeBus implements BroadcastEventSource {
  handler: ((event: EventEnvelope) => void | Promise<void>) | undefined;

  async subscribeBroadcast(_topics: readonly string[], handler: (event: EventEnvelope) => void | Promise<void>) {
    this.handler = handler;
    return { close: async () => undefined };
  }

  telemetry(car: LiveCar): void {
    const data = { carId: car.id, ts: new Date(car.ts).toISOString(), lat: car.lat, lng: car.lng, speedKph: car.speedKph, headingDeg: car.headingDeg, energyPct: car.energyPct, odometerKm: 1, locked: true, state: car.state };
    void this.handler?.({ id: '0190b5a0-0000-7000-8000-0000000000ff', type: CarTelemetry.type, version: CarTelemetry.version, occurredAt: new Date(car.ts).toISOString(), source: 'car', subject: car.id, data });
  }

  stateChanged(carId: string, from: LiveCar['state'], to: LiveCar['state'], at: number): void {
    const data = { carId, from, to, reservationId: null, reason: 'claim', version: 2 };
    void this.handler?.({ id: '0190b5a0-0000-7000-8000-0000000000fe', type: CarStateChanged.type, version: CarStateChanged.version, occurredAt: new Date(at).toISOString(), source: 'car', subject: carId, data });
  }
}

const car = (n: number, overrides: Partial<LiveCar> = {}): LiveCar => ({ id: id(n), lat: centre.lat, lng: centre.lng, headingDeg: 0, speedKph: 0, energyPct: 60, state: 'available', ts: 1_000, ...overrides });

interface Client {
  socket: WebSocket;
  messages: LiveServerMessage[];
  next(): Promise<LiveServerMessage>;
}

describe('GET /v1/live', () => {
  let app: HttpServer;
  let url: string;
  let hub: LiveHub;
  const fleet = new FakeFleet();
  const scheduler = new ManualScheduler();
  const bus = new FakeBus();
  const open: WebSocket[] = [];

  before(async () => {
    app = createHttpServer({ observability, clock: systemClock, errorStyle: 'public', defaultDeadlineMs: 10_000, trustDeadlineHeader: false });
    hub = registerLiveFeed(app, routeDepsFor(callers), { car: fleet.client(), observability, bus, scheduler, settings: { maxSessionsPerUser: 3, minWatchIntervalMs: 0 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}${liveFeed.url}`;
  });

  afterEach(() => {
    for (const socket of open.splice(0)) socket.terminate();
    fleet.cars.clear();
  });

  after(async () => {
    await app.close();
  });

  async function connect(token: string, protocols = [liveFeed.subprotocol, `${liveFeed.tokenSubprotocolPrefix}${token}`]): Promise<Client> {
    const socket = new WebSocket(url, protocols);
    open.push(socket);
    const messages: LiveServerMessage[] = [];
    const waiting: ((message: LiveServerMessage) => void)[] = [];
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as LiveServerMessage;
      const waiter = waiting.shift();
      if (waiter) waiter(message);
      else messages.push(message);
    });
    await once(socket, 'open');
    return {
      socket,
      messages,
      next: () => {
        const queued = messages.shift();
        return queued ? Promise.resolve(queued) : new Promise((resolve) => waiting.push(resolve));
      },
    };
  }

  async function watching(token: string, watch: object): Promise<{ client: Client; snapshot: LiveServerMessage }> {
    const client = await connect(token);
    client.socket.send(JSON.stringify({ type: 'watch', ...watch }));
    return { client, snapshot: await client.next() };
  }

  it('refuses an upgrade without a valid access token (HTTP 401, no socket)', async () => {
    for (const protocols of [[liveFeed.subprotocol], [liveFeed.subprotocol, 'bearer.forged']]) {
      const socket = new WebSocket(url, protocols);
      const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number; destroy(): void }];
      assert.equal(response.statusCode, 401);
      response.destroy();
    }
  });

  it('takes the token from the subprotocol and answers carshare.live.v1 (the token is never echoed)', async () => {
    const client = await connect('rider-token');
    assert.equal(client.socket.protocol, liveFeed.subprotocol);
  });

  it('gives a rider a snapshot of the available cars in the radius, then their moves, throttled to one message per interval', async () => {
    fleet.put(car(1, { lat: northOf(100) }));
    fleet.put(car(2, { lat: northOf(5_000) }));
    fleet.put(car(3, { state: 'in_use' }));
    const { client, snapshot } = await watching('rider-token', { ...centre, radiusM: 1_000 });
    assert.ok(snapshot.type === 'snapshot');
    assert.deepEqual(snapshot.cars.map((each) => each.id), [id(1)]);
    for (let step = 1; step <= 20; step++) bus.telemetry(car(1, { lat: northOf(100 + step), speedKph: 20, ts: 1_000 + step }));
    scheduler.tick();
    const changes = await client.next();
    assert.ok(changes.type === 'changes');
    assert.equal(changes.cars.length, 1, 'twenty moves, one update');
    assert.equal(changes.cars[0]?.lat, northOf(120));
    assert.equal(hub.stats.updates >= 20, true);
  });

  it('never shows a rider a car in use, and says a car is gone when it is taken', async () => {
    fleet.put(car(1));
    const { client } = await watching('rider-token', { ...centre, radiusM: 1_000 });
    bus.stateChanged(id(1), 'available', 'reserved', 2_000);
    bus.telemetry(car(4, { state: 'in_use', lat: northOf(10), ts: 2_000 }));
    scheduler.tick();
    const changes = await client.next();
    assert.deepEqual(changes, { type: 'changes', cars: [], gone: [id(1)] });
    bus.telemetry(car(1, { state: 'in_use', lat: northOf(50), ts: 3_000 }));
    scheduler.tick();
    client.socket.send(JSON.stringify({ type: 'watch', ...centre, radiusM: 1_000 }));
    const resnapshot = await client.next();
    assert.deepEqual(resnapshot, { type: 'snapshot', cars: [] }, 'no message in between carried a car in use');
  });

  it('gives an operator every car with its state', async () => {
    fleet.put(car(11));
    fleet.put(car(12, { state: 'in_use', lat: northOf(20_000) }));
    fleet.put(car(13, { state: 'maintenance' }));
    const { client, snapshot } = await watching('operator-token', {});
    assert.ok(snapshot.type === 'snapshot');
    assert.deepEqual(snapshot.cars.map((each) => [each.id, each.state]).sort(), [[id(11), 'available'], [id(12), 'in_use'], [id(13), 'maintenance']]);
    bus.telemetry(car(12, { state: 'in_use', lat: northOf(20_100), ts: 5_000 }));
    scheduler.tick();
    const changes = await client.next();
    assert.ok(changes.type === 'changes');
    assert.deepEqual(changes.cars.map((each) => [each.id, each.state]), [[id(12), 'in_use']]);
  });

  it('refuses a rider who asks for the whole fleet, and a message that is not a watch', async () => {
    const rider = await connect('rider-token');
    rider.socket.send(JSON.stringify({ type: 'watch' }));
    assert.deepEqual(await rider.next(), { type: 'error', error: { code: 'AREA_REQUIRED', message: 'riders watch an area: send lat, lng and radiusM' } });
    const [code] = (await once(rider.socket, 'close')) as [number];
    assert.equal(code, liveFeed.closeCodes.badMessage);
    const other = await connect('other-rider-token');
    other.socket.send('{"type":"subscribe-all"}');
    assert.equal(((await other.next()) as { error: { code: string } }).error.code, 'BAD_MESSAGE');
  });

  it('resumes with a snapshot of the latest positions after a reconnect', async () => {
    fleet.put(car(21));
    const first = await watching('rider-token', { ...centre, radiusM: 1_000 });
    first.client.socket.close();
    await once(first.client.socket, 'close');
    // Moves while the client was away: the car service's copy is older than the event the hub saw.
    bus.telemetry(car(21, { lat: northOf(300), ts: 9_000 }));
    const again = await watching('rider-token', { ...centre, radiusM: 1_000 });
    assert.ok(again.snapshot.type === 'snapshot');
    assert.equal(again.snapshot.cars[0]?.lat, northOf(300));
  });

  it('limits the connections of one user', async () => {
    const clients = await Promise.all([connect('operator-token'), connect('operator-token'), connect('operator-token')]);
    assert.equal(clients.length, 3);
    const fourth = await connect('operator-token');
    assert.equal(((await fourth.next()) as { error: { code: string } }).error.code, 'TOO_MANY_CONNECTIONS');
    const [code] = (await once(fourth.socket, 'close')) as [number];
    assert.equal(code, liveFeed.closeCodes.tooManyConnections);
  });
});
