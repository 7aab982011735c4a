import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deviceTopics, type DeviceCommand } from '@carshare/contracts';
import { AppError, uuidV7Ids } from '@carshare/platform';
import mqtt, { type MqttClient } from 'mqtt';
import { sql } from 'kysely';
import type { NewCarInput } from './domain/car.ts';
import { eventually, openCarTestModule, operator, rider, type CarTestModule } from './testing/car-test-module.ts';

// Everything of the car service that needs SQL or the MQTT gateway, in one file per database so
// the engine starts once: races decided by conditional updates, the command deadline on the fake
// clock, the device gateway's gate, the telemetry pipeline. The pure rules are domain/*.test.ts.

function rejectsWith(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.reason, reason, error.message);
    return true;
  };
}

let plates = 0;
function aCar(changes: Partial<NewCarInput> = {}): NewCarInput {
  plates += 1;
  const serial = String(plates).padStart(6, '0');
  return { plate: `B-CS ${serial}`, vin: `WVWZZZ1JZ3W${serial}`, model: 'VW ID.3', category: 'compact', seats: 5, fuelType: 'electric', position: { lat: 52.52, lng: 13.405 }, ...changes };
}

async function connectDevice(port: number, username: string, password: string): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username, password, reconnectPeriod: 0, connectTimeout: 3000, clientId: `test-${uuidV7Ids.next()}` });
}

/** Resolves with the error of a connection attempt the broker refuses. */
async function refusedConnect(port: number, username: string, password: string): Promise<Error> {
  try {
    const client = await connectDevice(port, username, password);
    await client.endAsync();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the broker accepted the connection');
}

/** Resolves when the broker has dropped the client (what a refused publish or subscribe does). */
function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.disconnected || !client.connected) resolve();
    const timer = setTimeout(() => reject(new Error('the broker kept the client connected')), 3000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function describeCarService(engineName: string, databaseUrl: string | undefined): void {
  describe(`car service on ${engineName}`, () => {
    let t: CarTestModule;
    const devices: MqttClient[] = [];
    const report = (changes: Record<string, unknown> = {}) => ({
      v: 1,
      ts: t.clock.now() - 1000,
      lat: 52.5201,
      lng: 13.4051,
      speedKph: 20,
      headingDeg: 90,
      odometerKm: 100,
      energyPct: 80,
      locked: true,
      ...changes,
    });
    const historyOf = async (carId: string) =>
      Number((await sql<{ n: string }>`select count(*) as n from telemetry where car_id = ${carId}`.execute(t.database.database.db)).rows[0]?.n);

    before(async () => {
      t = await openCarTestModule({ databaseUrl });
    });

    after(async () => {
      for (const device of devices) await device.endAsync(true).catch(() => undefined);
      await t.close();
    });

    async function device(carId: string, secret: string): Promise<MqttClient> {
      const client = await connectDevice(t.module.gateway.port, carId, secret);
      devices.push(client);
      return client;
    }

    /** A device that carries out every command it is sent and acknowledges it. */
    async function obedientDevice(carId: string, secret: string): Promise<MqttClient> {
      const box = await device(carId, secret);
      await box.subscribeAsync(deviceTopics.commands(carId), { qos: 1 });
      box.on('message', (_topic, payload) => {
        const command = JSON.parse(payload.toString()) as DeviceCommand;
        // The test may end before the broker's PUBACK: the ack itself has been handled by then.
        box.publishAsync(deviceTopics.acks(carId), JSON.stringify({ commandId: command.id, ok: true, locked: command.type === 'lock', ts: t.clock.now() }), { qos: 1 }).catch(() => undefined);
      });
      return box;
    }

    it('creates a car for operators only, answers its device secret once and stores only a keyed hash of it', async () => {
      await assert.rejects(t.module.service.createCar(aCar(), rider), rejectsWith('OPERATOR_ONLY'));
      const { car, deviceSecret } = await t.module.service.createCar(aCar({ plate: ' b-cs  777 ' }), operator);
      assert.equal(car.plate, 'B-CS 777');
      assert.equal(car.state, 'available');
      const stored = await sql<{ secret_hash: string }>`select secret_hash from cars where id = ${car.id}`.execute(t.database.database.db);
      assert.notEqual(stored.rows[0]?.secret_hash, deviceSecret);
      assert.ok(!JSON.stringify(await t.module.service.getCar({ carId: car.id }, operator)).includes(deviceSecret));
      assert.ok(await t.module.devices.authenticate(car.id, deviceSecret));
      await assert.rejects(t.module.service.createCar(aCar({ plate: 'B-CS 777' }), operator), rejectsWith('PLATE_TAKEN'));
      await eventually(() => t.published.find((event) => event.type === 'car.created' && event.subject === car.id), 'car.created');
    });

    it('lets exactly one of 50 concurrent claims win, and answers the winner again on its retry', async () => {
      const { car } = await t.module.service.createCar(aCar(), operator);
      const reservations = Array.from({ length: 50 }, () => uuidV7Ids.next());
      const outcomes = await Promise.allSettled(reservations.map((reservationId) => t.module.service.claim({ carId: car.id, reservationId }, rider)));
      const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      assert.equal(winners.length, 1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') rejectsWith('CAR_NOT_AVAILABLE')(outcome.reason);
      }
      const held = await t.module.service.getCar({ carId: car.id }, rider);
      assert.equal(held.state, 'reserved');
      const winner = reservations[outcomes.findIndex((outcome) => outcome.status === 'fulfilled')]!;
      assert.equal(held.reservationId, winner);
      assert.equal((await t.module.service.claim({ carId: car.id, reservationId: winner }, rider)).version, held.version);
      const changes = await eventually(
        () => {
          const found = t.published.filter((event) => event.type === 'car.state_changed' && event.subject === car.id);
          return found.length >= 1 ? found : undefined;
        },
        'car.state_changed',
      );
      assert.equal(changes.length, 1);
    });

    it('releases only for the holding reservation, and a second release changes nothing', async () => {
      const { car } = await t.module.service.createCar(aCar(), operator);
      const reservationId = uuidV7Ids.next();
      await t.module.service.claim({ carId: car.id, reservationId }, rider);
      await assert.rejects(t.module.service.release({ carId: car.id, reservationId: uuidV7Ids.next() }, rider), rejectsWith('NOT_YOUR_CAR'));
      const released = await t.module.service.release({ carId: car.id, reservationId }, rider);
      assert.deepEqual([released.state, released.reservationId], ['available', null]);
      assert.equal((await t.module.service.release({ carId: car.id, reservationId }, rider)).version, released.version);
    });

    it('unlocks through the device: the command reaches its commands topic and the ack puts the car in use', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const reservationId = uuidV7Ids.next();
      await t.module.service.claim({ carId: car.id, reservationId }, rider);
      await obedientDevice(car.id, deviceSecret);
      const unlocked = await t.module.service.unlock({ carId: car.id, reservationId }, rider);
      assert.deepEqual([unlocked.state, unlocked.locked], ['in_use', false]);
      const locked = await t.module.service.lock({ carId: car.id, reservationId }, rider);
      assert.deepEqual([locked.state, locked.locked, locked.reservationId], ['available', true, null]);
      assert.deepEqual(await t.module.service.getCar({ carId: car.id }, rider), locked, 'the answer is the car as the settlement wrote it');
      const { rows: written } = await sql<{ type: string }>`select event_type as type from outbox where subject = ${car.id} order by seq`.execute(t.database.database.db);
      assert.deepEqual(
        written.map((row) => row.type),
        ['car.created', 'car.state_changed', 'car.state_changed', 'car.command', 'car.command_acked', 'car.state_changed', 'car.state_changed', 'car.command', 'car.command_acked', 'car.state_changed'],
        'each move, its command and their acks in the order they happened',
      );
      await eventually(() => t.published.filter((event) => event.type === 'car.command_acked' && event.subject === car.id).length === 2 || undefined, 'two acks');
      const changes = await eventually(() => {
        const found = t.published.filter((event) => event.type === 'car.state_changed' && event.subject === car.id);
        return found.length === 5 ? found : undefined;
      }, 'five state changes');
      assert.deepEqual(
        changes.map((event) => {
          const data = event.data as { from: string; to: string; reservationId: string | null; version: number };
          return [data.from, data.to, data.reservationId, data.version];
        }),
        [
          ['available', 'reserved', reservationId, 1],
          ['reserved', 'unlocking', reservationId, 2],
          ['unlocking', 'in_use', reservationId, 3],
          ['in_use', 'locking', reservationId, 4],
          // The lock ends the hold: the event still names the reservation it ended.
          ['locking', 'available', reservationId, 5],
        ],
      );
    });

    it('a refused lock: DEVICE_REFUSED, the car back in use under its hold; a command nobody waits for is expired by the sweep', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const reservationId = uuidV7Ids.next();
      await t.module.service.claim({ carId: car.id, reservationId }, rider);
      const box = await device(car.id, deviceSecret);
      await box.subscribeAsync(deviceTopics.commands(car.id), { qos: 1 });
      box.on('message', (_topic, payload) => {
        const command = JSON.parse(payload.toString()) as DeviceCommand;
        const ok = command.type === 'unlock';
        box.publishAsync(deviceTopics.acks(car.id), JSON.stringify({ commandId: command.id, ok, locked: false, ts: t.clock.now(), ...(!ok && { error: 'door open' }) }), { qos: 1 }).catch(() => undefined);
      });
      await t.module.service.unlock({ carId: car.id, reservationId }, rider);
      await assert.rejects(t.module.service.lock({ carId: car.id, reservationId }, rider), rejectsWith('DEVICE_REFUSED'));
      const after = await t.module.service.getCar({ carId: car.id }, rider);
      assert.deepEqual([after.state, after.reservationId, after.locked], ['in_use', reservationId, false]);
      const refusal = await eventually(() => {
        const found = t.published.filter((event) => event.subject === car.id && (event.type === 'car.command_acked' || event.type === 'car.state_changed')).slice(-2);
        return found.length === 2 && found[1]?.type === 'car.state_changed' && (found[1].data as { to: string }).to === 'in_use' && (found[1].data as { from: string }).from === 'locking' ? found : undefined;
      }, 'the refusal and the way back');
      assert.deepEqual(refusal[0]?.data, { carId: car.id, commandId: (refusal[0]?.data as { commandId: string }).commandId, type: 'lock', ok: false, locked: false, error: 'door open' });
      assert.deepEqual(refusal[1]?.data, { carId: car.id, from: 'locking', to: 'in_use', reservationId, reason: 'device_refused', version: after.version });

      // Locking, and its instance died before the deadline: the sweep puts the car back.
      const stray = uuidV7Ids.next();
      await sql`update cars set state = 'locking' where id = ${car.id}`.execute(t.database.database.db);
      await sql`insert into commands (id, car_id, type, reservation_id, status, expires_at, created_at)
        values (${stray}, ${car.id}, 'lock', ${reservationId}, 'sent', ${new Date(t.clock.now() - 1)}, ${new Date(t.clock.now() - 5_001)})`.execute(t.database.database.db);
      const swept = await t.module.service.sweep();
      assert.equal(swept.expiredCommands, 1);
      const back = await t.module.service.getCar({ carId: car.id }, rider);
      assert.deepEqual([back.state, back.reservationId], ['in_use', reservationId]);
      const { rows } = await sql<{ status: string }>`select status from commands where id = ${stray}`.execute(t.database.database.db);
      assert.equal(rows[0]?.status, 'expired');
      const { rows: written } = await sql<{ envelope: { data: unknown } }>`select envelope from outbox where subject = ${car.id} order by seq desc limit 1`.execute(t.database.database.db);
      assert.deepEqual(written[0]?.envelope.data, { carId: car.id, from: 'locking', to: 'in_use', reservationId, reason: 'device_did_not_answer', version: back.version });
    });

    it('refuses a command for another hold, from the wrong state or for no car, changing nothing', async () => {
      const { car } = await t.module.service.createCar(aCar(), operator);
      const reservationId = uuidV7Ids.next();
      await assert.rejects(t.module.service.unlock({ carId: car.id, reservationId }, rider), rejectsWith('NOT_YOUR_CAR'));
      const held = await t.module.service.claim({ carId: car.id, reservationId }, rider);
      await assert.rejects(t.module.service.unlock({ carId: car.id, reservationId: uuidV7Ids.next() }, rider), rejectsWith('NOT_YOUR_CAR'));
      await assert.rejects(t.module.service.lock({ carId: car.id, reservationId }, rider), rejectsWith('INVALID_CAR_TRANSITION'));
      await assert.rejects(t.module.service.unlock({ carId: uuidV7Ids.next(), reservationId }, rider), rejectsWith('CAR_NOT_FOUND'));
      await assert.rejects(t.module.service.claim({ carId: uuidV7Ids.next(), reservationId }, rider), rejectsWith('CAR_NOT_FOUND'));
      assert.deepEqual(await t.module.service.getCar({ carId: car.id }, rider), held);
      const { rows } = await sql<{ count: number }>`select count(*)::int as count from commands where car_id = ${car.id}`.execute(t.database.database.db);
      assert.equal(rows[0]?.count, 0, 'no command was recorded');
      const { rows: written } = await sql<{ type: string }>`select event_type as type from outbox where subject = ${car.id} order by seq`.execute(t.database.database.db);
      assert.deepEqual(
        written.map((row) => row.type),
        ['car.created', 'car.state_changed'],
        'no event for a move that did not happen',
      );
    });

    it('fails Unlock with DEADLINE_EXCEEDED when the device never answers, puts the car back to reserved, and ignores a late ack', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const reservationId = uuidV7Ids.next();
      await t.module.service.claim({ carId: car.id, reservationId }, rider);
      const box = await device(car.id, deviceSecret);
      await box.subscribeAsync(deviceTopics.commands(car.id), { qos: 1 });
      const received: DeviceCommand[] = [];
      box.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString()) as DeviceCommand));
      const unlocking = t.module.service.unlock({ carId: car.id, reservationId }, rider);
      const command = await eventually(() => received[0], 'the unlock command');
      assert.equal((await t.module.service.getCar({ carId: car.id }, rider)).state, 'unlocking');
      assert.equal(command.expiresAt, t.clock.now() + 5_000);
      t.scheduler.advance(4_999);
      assert.equal(t.module.service.pendingCommands(), 1);
      t.scheduler.advance(1);
      await assert.rejects(unlocking, (error: unknown) => rejectsWith('DEVICE_DID_NOT_ANSWER')(error) && (error as AppError).code === 'DEADLINE_EXCEEDED');
      const after = await t.module.service.getCar({ carId: car.id }, rider);
      assert.deepEqual([after.state, after.reservationId, after.locked], ['reserved', reservationId, true]);
      const ignoredBefore = await t.counter('ignoredAcks', { why: 'unknown_or_settled' });
      await box.publishAsync(deviceTopics.acks(car.id), JSON.stringify({ commandId: command.id, ok: true, locked: false, ts: t.clock.now() }), { qos: 1 });
      await eventually(async () => (await t.counter('ignoredAcks', { why: 'unknown_or_settled' })) > ignoredBefore || undefined, 'the settled command\'s ack to be ignored');
      assert.equal((await t.module.service.getCar({ carId: car.id }, rider)).state, 'reserved');

      // An ack after the deadline of a command nobody settled yet (its waiter died with its instance).
      const lateBefore = await t.counter('ignoredAcks', { why: 'late' });
      const stray = uuidV7Ids.next();
      await sql`insert into commands (id, car_id, type, reservation_id, status, expires_at, created_at)
        values (${stray}, ${car.id}, 'unlock', ${reservationId}, 'sent', ${new Date(t.clock.now() - 1)}, ${new Date(t.clock.now() - 5_001)})`.execute(t.database.database.db);
      await box.publishAsync(deviceTopics.acks(car.id), JSON.stringify({ commandId: stray, ok: true, locked: false, ts: t.clock.now() }), { qos: 1 });
      await eventually(async () => (await t.counter('ignoredAcks', { why: 'late' })) > lateBefore || undefined, 'the late ack to be ignored');
      assert.equal((await t.module.service.getCar({ carId: car.id }, rider)).state, 'reserved');
    });

    it('refuses a forged credential and another car\'s credential at connect', async () => {
      const a = await t.module.service.createCar(aCar(), operator);
      const b = await t.module.service.createCar(aCar(), operator);
      const before = await t.counter('deviceRefusals', { reason: 'bad_credential' });
      await refusedConnect(t.module.gateway.port, a.car.id, 'forged-secret');
      await refusedConnect(t.module.gateway.port, a.car.id, b.deviceSecret);
      await refusedConnect(t.module.gateway.port, 'not-a-car', a.deviceSecret);
      assert.equal(await t.counter('deviceRefusals', { reason: 'bad_credential' }), before + 3);
    });

    it("refuses a publish to another car's topic, and subscribing to another car's commands or a wildcard, storing nothing", async () => {
      const a = await t.module.service.createCar(aCar(), operator);
      const b = await t.module.service.createCar(aCar(), operator);
      const before = await t.counter('deviceRefusals', { reason: 'publish_not_allowed' });
      const intruder = await device(a.car.id, a.deviceSecret);
      intruder.publish(deviceTopics.telemetry(b.car.id), JSON.stringify(report({ lat: 48.1 })));
      await closed(intruder);
      assert.equal(await t.counter('deviceRefusals', { reason: 'publish_not_allowed' }), before + 1);
      await t.module.telemetry.flush();
      assert.equal(await historyOf(b.car.id), 0);
      assert.equal((await t.module.service.getCar({ carId: b.car.id }, operator)).lastSeenAt, null);
      for (const topic of [deviceTopics.commands(b.car.id), 'cars/+/commands', '#']) {
        const snoop = await device(a.car.id, a.deviceSecret);
        const granted = await snoop.subscribeAsync(topic, { qos: 1 }).catch(() => [{ qos: 128 }]);
        // MQTT 3.1.1 answers a refused subscription with 0x80 (or the broker drops the client).
        assert.ok(granted.every((grant) => grant.qos === 128), `${topic}: ${JSON.stringify(granted)}`);
      }
    });

    it('keeps the lock state a device acknowledged over a report it sent before the ack, still waiting in the ingest batch', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const reservationId = uuidV7Ids.next();
      await t.module.service.claim({ carId: car.id, reservationId }, rider);
      const box = await obedientDevice(car.id, deviceSecret);
      await t.module.service.unlock({ carId: car.id, reservationId }, rider);
      // Sent while driving, a second before the lock; the batch is written after the lock's ack.
      const accepted = await t.counter('telemetryReports', { result: 'accepted' });
      await box.publishAsync(deviceTopics.telemetry(car.id), JSON.stringify(report({ locked: false })), { qos: 1 });
      await eventually(async () => (await t.counter('telemetryReports', { result: 'accepted' })) > accepted || undefined, 'the report accepted');
      const locked = await t.module.service.lock({ carId: car.id, reservationId }, rider);
      assert.equal(locked.locked, true);
      await t.module.telemetry.flush();
      const stored = await t.module.service.getCar({ carId: car.id }, operator);
      assert.equal(stored.locked, true, 'an older report undid the acknowledged lock');
      assert.equal(await historyOf(car.id), 1, 'the report is still in the history');
    });

    it('stores a good report (car row and history) and rejects bad ones by reason, counted, never stored', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const box = await device(car.id, deviceSecret);
      const send = (payload: string | Buffer) => box.publishAsync(deviceTopics.telemetry(car.id), payload, { qos: 1 });
      await send(JSON.stringify(report({ odometerKm: 100 })));
      await eventually(async () => (await t.counter('telemetryReports', { result: 'accepted' })) > 0 || undefined, 'an accepted report');
      await t.module.telemetry.flush();
      const stored = await t.module.service.getCar({ carId: car.id }, operator);
      assert.deepEqual([stored.position, stored.odometerKm, stored.energyPct], [{ lat: 52.5201, lng: 13.4051 }, 100, 80]);
      assert.equal(await historyOf(car.id), 1);

      const bad: Array<[string, string | Buffer]> = [
        ['malformed', '{"v":1,"lat":NaN}'],
        ['not_finite', JSON.stringify(report({ ts: t.clock.now() })).replace('"speedKph":20', '"speedKph":1e999')],
        ['implausible_position', JSON.stringify(report({ ts: t.clock.now(), lat: 123 }))],
        ['odometer_went_back', JSON.stringify(report({ ts: t.clock.now(), odometerKm: 99 }))],
        ['timestamp_in_future', JSON.stringify(report({ ts: t.clock.now() + 3_600_000 }))],
      ];
      for (const [reason, payload] of bad) {
        const before = await t.counter('telemetryReports', { result: reason });
        await send(payload);
        await eventually(async () => (await t.counter('telemetryReports', { result: reason })) === before + 1 || undefined, reason);
      }
      const tooLarge = await t.counter('deviceRefusals', { reason: 'packet_too_large' });
      // The gateway drops a device that sends it (from the packet's header, at the socket): its
      // publish is never acknowledged, so not awaited. mqtt-packet-size-guard.test.ts has the rest.
      box.publish(deviceTopics.telemetry(car.id), Buffer.alloc(1024 * 1024, 0x20), { qos: 0 });
      await eventually(async () => (await t.counter('deviceRefusals', { reason: 'packet_too_large' })) === tooLarge + 1 || undefined, 'a 1 MB payload refused');
      await t.module.telemetry.flush();
      assert.equal(await historyOf(car.id), 1);
      assert.equal((await t.module.service.getCar({ carId: car.id }, operator)).odometerKm, 100);
    });

    it('rate-limits a flood per car: what is above the limit is counted and not stored', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const limited = await t.counter('telemetryReports', { result: 'rate_limited' });
      // Burst 10 at 2/s on a clock that does not move: 10 pass, 30 are refused.
      const results = [];
      for (let index = 0; index < 40; index += 1) {
        results.push(await t.module.devices.ingestHttp({ carId: car.id, secret: deviceSecret, report: report({ ts: t.clock.now() - 40 + index, odometerKm: 100 + index }) }).catch((error: unknown) => error));
      }
      assert.equal(results.filter((result) => !(result instanceof Error)).length, 10);
      assert.equal(await t.counter('telemetryReports', { result: 'rate_limited' }), limited + 30);
      assert.equal(await historyOf(car.id), 10);
      await assert.rejects(t.module.devices.ingestHttp({ carId: car.id, secret: 'nope', report: report() }), rejectsWith('DEVICE_UNAUTHENTICATED'));
    });

    it('maps a Traccar forward to the car with that tracker id, and refuses an unknown token or tracker', async () => {
      const { car } = await t.module.service.createCar(aCar({ trackerId: '868618052108909' }), operator);
      const forwarded = (uniqueId: string) => ({
        position: { fixTime: new Date(t.clock.now() - 500).toISOString(), latitude: 52.51, longitude: 13.39, speed: 10, course: 45, attributes: { totalDistance: 1_234_500, batteryLevel: 64 } },
        device: { id: 10, uniqueId, name: 'car' },
      });
      await assert.rejects(t.module.devices.ingestTraccar({ token: 'wrong-token-wrong-token', forwarded: forwarded('868618052108909') }), rejectsWith('DEVICE_UNAUTHENTICATED'));
      const traccar = await openCarTestModule({ databaseUrl, config: { 'devices.traccarToken': 'traccar-secret-token-1' } });
      try {
        const { car: tracked } = await traccar.module.service.createCar(aCar({ trackerId: '868618052108909' }), operator);
        await traccar.module.devices.ingestTraccar({ token: 'traccar-secret-token-1', forwarded: forwarded('868618052108909') });
        const stored = await traccar.module.service.getCar({ carId: tracked.id }, operator);
        assert.deepEqual([stored.position, stored.odometerKm, stored.energyPct, Math.round(stored.speedKph * 100) / 100], [{ lat: 52.51, lng: 13.39 }, 1234.5, 64, 18.52]);
        await assert.rejects(traccar.module.devices.ingestTraccar({ token: 'traccar-secret-token-1', forwarded: forwarded('unknown') }), rejectsWith('UNKNOWN_TRACKER'));
      } finally {
        await traccar.close();
      }
      assert.equal(car.trackerId, '868618052108909');
    });

    it('publishes car.telemetry at most once per car per throttle interval, whatever the report rate', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      // The outbox, not the bus: what was written in the transactions, counted exactly.
      const telemetryEvents = async () =>
        Number((await sql<{ n: string }>`select count(*) as n from outbox where event_type = 'car.telemetry' and subject = ${car.id}`.execute(t.database.database.db)).rows[0]?.n);
      for (let index = 0; index < 3; index += 1) {
        t.clock.advance(1000);
        await t.module.devices.ingestHttp({ carId: car.id, secret: deviceSecret, report: report({ ts: t.clock.now(), odometerKm: 200 + index }) });
      }
      assert.equal(await telemetryEvents(), 1);
      t.clock.advance(10_000);
      await t.module.devices.ingestHttp({ carId: car.id, secret: deviceSecret, report: report({ ts: t.clock.now(), odometerKm: 210 }) });
      assert.equal(await telemetryEvents(), 2);
      assert.equal(await historyOf(car.id), 4);
    });

    it("writes what a report changes: a parked car's repeats refresh its row every 30 s and its history every 60 s, a moving car's row at most every 5 s and its history each move", async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const accepted = await t.counter('telemetryReports', { result: 'accepted' });
      const lastReportAt = async () => (await t.module.service.getCar({ carId: car.id }, operator)).lastReportAt;
      const telemetryEvents = async () =>
        Number((await sql<{ n: string }>`select count(*) as n from outbox where event_type = 'car.telemetry' and subject = ${car.id}`.execute(t.database.database.db)).rows[0]?.n);
      const send = (changes: Record<string, unknown> = {}) =>
        t.module.devices.ingestHttp({ carId: car.id, secret: deviceSecret, report: report({ ts: t.clock.now(), speedKph: 0, ...changes }) });
      const parkedSince = t.clock.now();
      await send();
      for (let second = 1; second < 30; second += 1) {
        t.clock.advance(1000);
        await send();
      }
      assert.equal(await t.counter('telemetryReports', { result: 'accepted' }), accepted + 30, 'every report is judged and counted');
      assert.equal(await lastReportAt(), parkedSince, 'a repeat within 30 s leaves the row alone');
      assert.equal(await historyOf(car.id), 1);
      t.clock.advance(1000);
      await send();
      assert.equal(await lastReportAt(), t.clock.now(), 'the row is refreshed after 30 s');
      assert.equal(await historyOf(car.id), 1);
      t.clock.advance(30_000);
      await send();
      assert.equal(await historyOf(car.id), 2, 'a history point a minute');
      assert.equal(await telemetryEvents(), 1, 'a refreshed row that says nothing new is no car.telemetry event');

      // Driving: 11 m and 0.01 km a second.
      const rowWrittenAt = t.clock.now();
      for (let second = 1; second <= 6; second += 1) {
        t.clock.advance(1000);
        await send({ lat: 52.5201 + second * 0.0001, odometerKm: 100 + second * 0.01, speedKph: 40 });
        const expected = second < 5 ? rowWrittenAt : t.clock.now() - (second - 5) * 1000;
        assert.equal(await lastReportAt(), expected, `row after ${second} s of driving`);
      }
      assert.equal(await historyOf(car.id), 2 + 6, 'each move is a point of the history (trip distance)');
      assert.equal(await telemetryEvents(), 2, 'the moved car is an event');
      // Coming to rest is written at once: the trip's finish judges the zone by the row.
      t.clock.advance(1000);
      await send({ lat: 52.5201 + 0.0007, odometerKm: 100.07, speedKph: 0 });
      const rested = await t.module.service.getCar({ carId: car.id }, operator);
      assert.equal(rested.lastReportAt, t.clock.now(), 'the row holds the report of the car at rest');
      assert.equal(rested.position?.lat, 52.5201 + 0.0007);
      // The lock turning is written at once, whatever the interval.
      t.clock.advance(1000);
      await send({ lat: 52.5201 + 0.0007, odometerKm: 100.07, locked: false });
      assert.equal((await t.module.service.getCar({ carId: car.id }, operator)).locked, false);
    });

    it('reads a device no further while its accepted reports wait to be written beyond the backlog bound, and loses none of them', async () => {
      const bounded = await openCarTestModule({ databaseUrl, config: { 'telemetry.maxBacklog': 2 } });
      const clients: MqttClient[] = [];
      try {
        const { car, deviceSecret } = await bounded.module.service.createCar(aCar(), operator);
        const box = await connectDevice(bounded.module.gateway.port, car.id, deviceSecret);
        clients.push(box);
        const accepted = () => bounded.counter('telemetryReports', { result: 'accepted' });
        const send = (index: number) =>
          box.publishAsync(deviceTopics.telemetry(car.id), JSON.stringify(report({ ts: bounded.clock.now() - 5000 + index, odometerKm: 100 + index })), { qos: 1 });
        await send(0);
        const second = send(1);
        second.catch(() => undefined);
        await eventually(async () => (await accepted()) === 2 || undefined, 'two reports accepted');
        const third = send(2);
        third.catch(() => undefined);
        // The gateway holds the second's acknowledgement and leaves the third in the socket.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(await accepted(), 2);
        assert.equal(bounded.module.telemetry.backlog, 2);
        await bounded.module.telemetry.flush();
        await Promise.all([second, third]);
        assert.equal(await accepted(), 3);
        await bounded.module.telemetry.flush();
        const history = Number((await sql<{ n: string }>`select count(*) as n from telemetry where car_id = ${car.id}`.execute(bounded.database.database.db)).rows[0]?.n);
        assert.equal(history, 3, 'every accepted report is stored');
      } finally {
        for (const client of clients) await client.endAsync(true).catch(() => undefined);
        await bounded.close();
      }
    });

    it('takes a car silent for the offline limit offline in a sweep, and back to available on its next report', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      await t.module.devices.ingestHttp({ carId: car.id, secret: deviceSecret, report: report() });
      t.clock.advance(5 * 60_000 - 1);
      await t.module.sweep();
      assert.equal((await t.module.service.getCar({ carId: car.id }, operator)).state, 'available');
      t.clock.advance(2);
      await t.module.sweep();
      assert.equal((await t.module.service.getCar({ carId: car.id }, operator)).state, 'offline');
      await t.module.devices.ingestHttp({ carId: car.id, secret: deviceSecret, report: report({ odometerKm: 101 }) });
      assert.equal((await t.module.service.getCar({ carId: car.id }, operator)).state, 'available');
    });

    it('finds available cars within the radius, nearest first, by category, never a reserved one', async () => {
      const center = { lat: 10.0, lng: 20.0 };
      const at = (metresNorth: number) => ({ lat: center.lat + metresNorth / 111_195, lng: center.lng });
      const near = await t.module.service.createCar(aCar({ position: at(100) }), operator);
      const nearer = await t.module.service.createCar(aCar({ position: at(50) }), operator);
      const van = await t.module.service.createCar(aCar({ position: at(70), category: 'van' }), operator);
      const reserved = await t.module.service.createCar(aCar({ position: at(10) }), operator);
      await t.module.service.claim({ carId: reserved.car.id, reservationId: uuidV7Ids.next() }, rider);
      await t.module.service.createCar(aCar({ position: at(900) }), operator);
      const found = t.module.service.nearby({ ...center, radiusM: 500, limit: 10 });
      assert.deepEqual(found.map((result) => result.entry.id), [nearer.car.id, van.car.id, near.car.id]);
      assert.ok(Math.abs(found[0]!.distanceM - 50) < 1);
      const compact = t.module.service.nearby({ ...center, radiusM: 500, limit: 1, category: 'compact' });
      assert.deepEqual(compact.map((result) => result.entry.id), [nearer.car.id]);
    });

    it('lists cars for operators with filters, sorts and cursor pages that skip and repeat nothing', async () => {
      await assert.rejects(t.module.service.listCars({ limit: 5 }, rider), rejectsWith('OPERATOR_ONLY'));
      const all = [];
      let cursor: string | undefined;
      do {
        const page = await t.module.service.listCars({ limit: 3, sort: 'energy_asc', ...(cursor !== undefined && { cursor }) }, operator);
        all.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      const total = (await t.module.service.listCars({ limit: 100 }, operator)).items.length;
      assert.equal(all.length, total);
      assert.equal(new Set(all.map((car) => car.id)).size, total);
      const reservedOnly = await t.module.service.listCars({ limit: 100, state: 'reserved' }, operator);
      assert.ok(reservedOnly.items.length > 0 && reservedOnly.items.every((car) => car.state === 'reserved'));
      await assert.rejects(t.module.service.listCars({ limit: 3, sort: 'plate', cursor: 'bm9wZQ' }, operator), rejectsWith('INVALID_CURSOR'));
    });

    it('lists the one car with a plate, written in any case and spacing, and no car for a plate that only starts the same', async () => {
      const { car } = await t.module.service.createCar(aCar({ plate: `B-PL ${String(plates).padStart(4, '0')}` }), operator);
      await t.module.service.createCar(aCar({ plate: `${car.plate}9` }), operator);
      const asTyped = `  ${car.plate.toLowerCase().replace(' ', '   ')} `;
      const found = await t.module.service.listCars({ limit: 100, plate: asTyped }, operator);
      assert.deepEqual(found.items.map((item) => item.id), [car.id]);
      assert.equal(found.nextCursor, null);
      assert.deepEqual((await t.module.service.listCars({ limit: 100, plate: car.plate.slice(0, -1) }, operator)).items, []);
      assert.deepEqual((await t.module.service.listCars({ limit: 100, plate: car.plate, state: 'reserved' }, operator)).items, [], 'with the other filters');
    });

    it('takes only idle cars into maintenance, deletes only idle cars, and rotating the secret locks out the old one', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const inMaintenance = await t.module.service.setMaintenance({ carId: car.id, on: true }, operator);
      assert.equal(inMaintenance.state, 'maintenance');
      await assert.rejects(t.module.service.claim({ carId: car.id, reservationId: uuidV7Ids.next() }, rider), rejectsWith('CAR_NOT_AVAILABLE'));
      assert.equal((await t.module.service.setMaintenance({ carId: car.id, on: false }, operator)).state, 'available');
      const reservationId = uuidV7Ids.next();
      await t.module.service.claim({ carId: car.id, reservationId }, rider);
      await assert.rejects(t.module.service.setMaintenance({ carId: car.id, on: true }, operator), rejectsWith('INVALID_CAR_TRANSITION'));
      await assert.rejects(t.module.service.deleteCar({ carId: car.id }, operator), rejectsWith('CAR_NOT_IDLE'));
      await t.module.service.release({ carId: car.id, reservationId }, rider);
      const rotated = await t.module.service.rotateDeviceSecret({ carId: car.id }, operator);
      assert.equal(await t.module.devices.authenticate(car.id, deviceSecret), undefined);
      assert.ok(await t.module.devices.authenticate(car.id, rotated.deviceSecret));
      await assert.rejects(
        t.module.service.updateCar({ carId: car.id, expectedVersion: car.version, model: 'Old read' }, operator),
        rejectsWith('VERSION_MISMATCH'),
      );
      await t.module.service.deleteCar({ carId: car.id }, operator);
      await assert.rejects(t.module.service.getCar({ carId: car.id }, operator), rejectsWith('CAR_NOT_FOUND'));
    });

    it('answers the telemetry of a car since a time in cursor pages, oldest first', async () => {
      const { car, deviceSecret } = await t.module.service.createCar(aCar(), operator);
      const start = t.clock.now();
      for (let index = 0; index < 5; index += 1) {
        t.clock.advance(1000);
        await t.module.devices.ingestHttp({ carId: car.id, secret: deviceSecret, report: report({ ts: t.clock.now(), odometerKm: 100 + index }) });
      }
      const first = await t.module.service.telemetrySince({ carId: car.id, since: new Date(start).toISOString(), limit: 3 }, rider);
      assert.deepEqual(first.items.map((point) => point.odometerKm), [100, 101, 102]);
      const second = await t.module.service.telemetrySince({ carId: car.id, since: new Date(start).toISOString(), limit: 3, cursor: first.nextCursor! }, rider);
      assert.deepEqual(second.items.map((point) => point.odometerKm), [103, 104]);
      assert.equal(second.nextCursor, null);
      const later = await t.module.service.telemetrySince({ carId: car.id, since: new Date(t.clock.now() + 1).toISOString(), limit: 3 }, rider);
      assert.deepEqual(later, { items: [], nextCursor: null }, 'a car with no points since then');
      await assert.rejects(t.module.service.telemetrySince({ carId: uuidV7Ids.next(), since: new Date(start).toISOString(), limit: 3 }, rider), rejectsWith('CAR_NOT_FOUND'));
    });
  });
}

describeCarService('PGlite', undefined);
const databaseUrl = process.env['DATABASE_URL'];
if (databaseUrl) describeCarService('PostgreSQL', databaseUrl);
