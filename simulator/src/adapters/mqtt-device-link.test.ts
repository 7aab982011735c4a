import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateCity } from '@carshare/city';
import { CommandAck, TelemetryReport, deviceTopics } from '@carshare/contracts';
import { connectAsync, type MqttClient } from 'mqtt';
import { Compile } from 'typebox/compile';
import { FleetSimulator } from '../fleet-simulator.ts';
import { DeviceBroker } from '../testing/device-broker.ts';
import { ManualTime } from '../testing/manual-time.ts';
import { MqttDeviceLink, brokerIndex, mqttDeviceConnector } from './mqtt-device-link.ts';

const city = generateCity({ sizeKm: 2 });
const reportCheck = Compile(TelemetryReport);
const ackCheck = Compile(CommandAck);
const settings = { reportIntervalMs: 2_000, tickMs: 500, commandDelayMs: [1_000, 1_000] as const, riderPauseMs: [5_000, 5_000] as const, ambientTripsPerHour: 0 };

/** Lets network I/O run until the condition holds (real time, bounded): the simulator's clock stays frozen meanwhile. */
async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function fleetCars(count: number) {
  return Array.from({ length: count }, () => ({ carId: randomUUID(), secret: randomUUID() }));
}

describe('simulated devices over MQTT (in-process aedes with the device rules)', () => {
  const cars = fleetCars(5);
  const time = new ManualTime();
  let broker: DeviceBroker;
  let fleet: FleetSimulator;

  before(async () => {
    broker = await DeviceBroker.start(new Map(cars.map((car) => [car.carId, car.secret])));
    fleet = new FleetSimulator({
      city,
      cars,
      connect: mqttDeviceConnector({ url: broker.url }),
      time,
      settings: { ...settings, failures: { cars: { '#1': { neverAck: true } } } },
    });
    await fleet.start();
  });

  after(async () => {
    await fleet.stop();
    await broker.close();
  });

  it('connects each device with its own credentials and publishes valid telemetry on its own topic', async () => {
    assert.equal(broker.connectedClients, cars.length);
    time.advance(2_000);
    for (const car of cars) {
      const message = await broker.waitFor((candidate) => candidate.topic === deviceTopics.telemetry(car.carId));
      const report = JSON.parse(message.payload) as unknown;
      assert.ok(reportCheck.Check(report), JSON.stringify([...reportCheck.Errors(report)]));
    }
    assert.deepEqual(broker.refused, { connect: 0, publish: 0, subscribe: 0 }, 'nothing outside its own topics');
  });

  it('obeys an unlock sent on its commands topic and acks it', async () => {
    const car = cars[0] as (typeof cars)[number];
    const commandId = randomUUID();
    const received = fleet.stats.commandsReceived;
    await broker.sendCommand(car.carId, { id: commandId, type: 'unlock', expiresAt: time.now() + 30_000 });
    await until(() => fleet.stats.commandsReceived > received, 'the command to arrive');
    time.advance(1_000);
    const message = await broker.waitFor((candidate) => candidate.topic === deviceTopics.acks(car.carId));
    const ack = JSON.parse(message.payload) as CommandAck;
    assert.ok(ackCheck.Check(ack));
    assert.deepEqual({ commandId: ack.commandId, ok: ack.ok, locked: ack.locked }, { commandId, ok: true, locked: false });
    time.advance(2_000);
    await broker.waitFor((candidate) => candidate.topic === deviceTopics.telemetry(car.carId) && (JSON.parse(candidate.payload) as TelemetryReport).locked === false);
  });

  it('a never-ack device stays silent on its acks topic while the others answer', async () => {
    const silent = cars[1] as (typeof cars)[number];
    const answering = cars[2] as (typeof cars)[number];
    const received = fleet.stats.commandsReceived;
    await broker.sendCommand(silent.carId, { id: randomUUID(), type: 'unlock', expiresAt: time.now() + 30_000 });
    await broker.sendCommand(answering.carId, { id: randomUUID(), type: 'unlock', expiresAt: time.now() + 30_000 });
    await until(() => fleet.stats.commandsReceived >= received + 2, 'both commands to arrive');
    time.advance(60_000);
    await broker.waitFor((candidate) => candidate.topic === deviceTopics.acks(answering.carId));
    assert.equal(broker.received.filter((candidate) => candidate.topic === deviceTopics.acks(silent.carId)).length, 0);
  });

  it('a device with a wrong secret is refused at CONNECT', async () => {
    const car = cars[3] as (typeof cars)[number];
    const refused = broker.refused.connect;
    await assert.rejects(MqttDeviceLink.connect({ url: broker.url }, { carId: car.carId, secret: 'forged' }, () => undefined));
    assert.equal(broker.refused.connect, refused + 1);
  });
});

describe('simulated devices against Mosquitto (MQTT_URL)', { skip: process.env['MQTT_URL'] ? false : 'MQTT_URL is not set' }, () => {
  const url = process.env['MQTT_URL'] as string;
  const cars = fleetCars(3);
  const time = new ManualTime();
  let fleet: FleetSimulator;
  let platform: MqttClient;
  const seen: { topic: string; payload: string }[] = [];

  before(async () => {
    platform = await connectAsync(url, { clientId: `sim-test-${randomUUID()}`, reconnectPeriod: 0 });
    platform.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    // Only this run's cars: their ids are fresh UUIDs, so other users of the broker do not interfere.
    await platform.subscribeAsync(cars.flatMap((car) => [deviceTopics.telemetry(car.carId), deviceTopics.acks(car.carId)]), { qos: 1 });
    fleet = new FleetSimulator({ city, cars, connect: mqttDeviceConnector({ url }), time, settings });
    await fleet.start();
  });

  after(async () => {
    await fleet.stop();
    await platform.endAsync();
  });

  it('publishes telemetry on each car topic and acks a command sent through the broker', async () => {
    time.advance(2_000);
    for (const car of cars) await until(() => seen.some((message) => message.topic === deviceTopics.telemetry(car.carId)), `telemetry of ${car.carId}`);
    assert.ok(seen.every((message) => !message.topic.endsWith('/telemetry') || reportCheck.Check(JSON.parse(message.payload))));
    const car = cars[0] as (typeof cars)[number];
    const commandId = randomUUID();
    const received = fleet.stats.commandsReceived;
    await platform.publishAsync(deviceTopics.commands(car.carId), JSON.stringify({ id: commandId, type: 'unlock', expiresAt: time.now() + 30_000 }), { qos: 1 });
    await until(() => fleet.stats.commandsReceived > received, 'the command to arrive');
    time.advance(1_000);
    await until(() => seen.some((message) => message.topic === deviceTopics.acks(car.carId) && (JSON.parse(message.payload) as CommandAck).commandId === commandId), 'the ack');
  });
});

describe('devices spread over several car-service instances (a comma-separated --mqtt)', () => {
  it('connects each device to the instance its car id picks, and every instance gets some', async () => {
    const cars = fleetCars(12);
    const secrets = new Map(cars.map((car) => [car.carId, car.secret]));
    const brokers = [await DeviceBroker.start(secrets), await DeviceBroker.start(secrets)];
    const fleet = new FleetSimulator({ city, cars, connect: mqttDeviceConnector({ url: brokers.map((broker) => broker.url).join(', ') }), time: new ManualTime(), settings });
    try {
      await fleet.start();
      const expected = [0, 1].map((index) => cars.filter((car) => brokerIndex(car.carId, 2) === index).length);
      assert.ok(expected.every((count) => count > 0), `both instances get devices: ${expected.join(' + ')}`);
      assert.deepEqual(
        brokers.map((broker) => broker.connectedClients),
        expected,
      );
      assert.equal(brokerIndex(cars[0]?.carId ?? '', 2), brokerIndex(cars[0]?.carId ?? '', 2), 'the same car, the same instance');
    } finally {
      await fleet.stop();
      for (const broker of brokers) await broker.close();
    }
  });
});
