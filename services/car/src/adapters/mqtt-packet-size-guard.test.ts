import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { deviceTopics, MAX_DEVICE_PAYLOAD_BYTES } from '@carshare/contracts';
import { uuidV7Ids } from '@carshare/platform';
import mqtt, { type MqttClient } from 'mqtt';
import { eventually, openCarTestModule, operator, type CarTestModule } from '../testing/car-test-module.ts';
import { defaultMaxPacketBytes } from './aedes-device-gateway.ts';
import { MqttFrameScanner } from './mqtt-packet-size-guard.ts';

/** MQTT's Remaining Length encoding (1–4 bytes, 7 bits each, high bit = more). */
function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return bytes;
}

/** A QoS 0 PUBLISH packet, whole. */
function publishPacket(topic: string, payload: Buffer): Buffer {
  const topicBytes = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([topicBytes.length >> 8, topicBytes.length & 0xff]), topicBytes, payload]);
  return Buffer.concat([Buffer.from([0x30, ...remainingLength(body.length)]), body]);
}

describe('MqttFrameScanner', () => {
  it('lets packets up to the limit through, however the stream is cut', () => {
    const stream = Buffer.concat([
      Buffer.from([0xc0, 0x00]), // PINGREQ: no body at all
      publishPacket('cars/a/telemetry', Buffer.alloc(4000, 0x61)),
      publishPacket('cars/a/acks', Buffer.alloc(10, 0x62)),
    ]);
    for (const size of [1, 2, 3, 7, 129, stream.length]) {
      const scanner = new MqttFrameScanner(4100);
      for (let start = 0; start < stream.length; start += size) assert.equal(scanner.feed(stream.subarray(start, start + size)), undefined, `chunks of ${size}`);
    }
  });

  it('refuses a packet from its header, before its body has arrived, also when the header is split', () => {
    const header = Buffer.from([0x30, ...remainingLength(200 * 1024 * 1024)]);
    const scanner = new MqttFrameScanner(5000);
    assert.equal(scanner.feed(Buffer.concat([publishPacket('cars/a/telemetry', Buffer.from('{}')), header.subarray(0, 2)])), undefined, 'a length that may still be small');
    assert.deepEqual(scanner.feed(header.subarray(2)), { kind: 'too_large', declaredBytes: 200 * 1024 * 1024 });
    assert.deepEqual(new MqttFrameScanner(5000).feed(Buffer.from([0x30, ...remainingLength(5001)])), { kind: 'too_large', declaredBytes: 5001 });
  });

  it('refuses a Remaining Length longer than MQTT allows', () => {
    assert.deepEqual(new MqttFrameScanner(Number.MAX_SAFE_INTEGER).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), { kind: 'malformed' });
  });
});

/** Resolves when the broker has dropped the client. */
function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected) resolve();
    const timer = setTimeout(() => reject(new Error('the broker kept the client connected')), 5_000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// The cap belongs to the car service's own device gateway, where devices connect in every
// topology (ADR 0014): with MQTT_URL the instances are linked through Mosquitto, and the devices
// still connect here, so the same tests run with the backplane on.
const mqttUrl = process.env['MQTT_URL'];
const topologies: Array<{ name: string; config: Record<string, unknown> }> = [{ name: 'embedded', config: {} }];
if (mqttUrl) topologies.push({ name: `linked through ${mqttUrl}`, config: { 'devices.backplaneUrl': mqttUrl, 'devices.backplanePrefix': `carshare-test/${process.pid}-${uuidV7Ids.next()}` } });

for (const topology of topologies) {
  describe(`the device gateway's packet size cap (${topology.name})`, () => {
    let t: CarTestModule;
    const clients: MqttClient[] = [];
    let plate = 0;

    before(async () => {
      t = await openCarTestModule({ config: topology.config });
    });

    after(async () => {
      await Promise.all(clients.map((client) => client.endAsync(true)));
      await t.close();
    });

    async function connectedCar(): Promise<{ carId: string; device: MqttClient }> {
      plate += 1;
      const serial = `${process.pid % 1000}${plate}`.padStart(6, '0').slice(-6);
      const { car, deviceSecret } = await t.module.service.createCar(
        { plate: `B-MP ${serial}`, vin: `WVWZZZ1JZ3M${serial}`, model: 'VW ID.3', category: 'compact', seats: 5, fuelType: 'electric', position: { lat: 52.52, lng: 13.405 } },
        operator,
      );
      const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.module.gateway.port}`, { username: car.id, password: deviceSecret, reconnectPeriod: 0, connectTimeout: 5_000, clientId: `test-${uuidV7Ids.next()}` });
      device.on('error', () => {});
      clients.push(device);
      return { carId: car.id, device };
    }

    it('closes the connection of a device that sends a 1 MB PUBLISH, from its header, and stores nothing', async () => {
      const { carId, device } = await connectedCar();
      const refused = await t.counter('deviceRefusals', { reason: 'packet_too_large' });
      const received = await t.counter('telemetryReports', {});
      const payloadRefusals = await t.counter('deviceRefusals', { reason: 'payload_too_large' });
      // Not awaited: the gateway never acknowledges it, it closes the connection.
      device.publish(deviceTopics.telemetry(carId), Buffer.alloc(1024 * 1024, 0x20), { qos: 0 });
      await closed(device);
      await eventually(async () => (await t.counter('deviceRefusals', { reason: 'packet_too_large' })) === refused + 1 || undefined, 'the refusal to be counted');
      // Refused at the socket, so never a "payload too large" from the publish hook behind it.
      assert.equal(await t.counter('deviceRefusals', { reason: 'payload_too_large' }), payloadRefusals);
      await t.module.telemetry.flush();
      assert.equal(await t.counter('telemetryReports', {}), received);
      assert.equal((await t.module.service.getCar({ carId }, operator)).lastSeenAt, null);
    });

    it('refuses a payload over the device limit that fits the packet cap, and closes that connection too', async () => {
      const { carId, device } = await connectedCar();
      assert.ok(MAX_DEVICE_PAYLOAD_BYTES + 100 < defaultMaxPacketBytes);
      const refused = await t.counter('deviceRefusals', { reason: 'payload_too_large' });
      device.publish(deviceTopics.telemetry(carId), Buffer.alloc(MAX_DEVICE_PAYLOAD_BYTES + 100, 0x20), { qos: 0 });
      await closed(device);
      await eventually(async () => (await t.counter('deviceRefusals', { reason: 'payload_too_large' })) === refused + 1 || undefined, 'the refusal to be counted');
      assert.equal((await t.module.service.getCar({ carId }, operator)).lastSeenAt, null);
    });

    it('passes a full-size report through', async () => {
      const { carId, device } = await connectedCar();
      const accepted = await t.counter('telemetryReports', { result: 'accepted' });
      const report = { v: 1, ts: t.clock.now() - 1000, lat: 52.5201, lng: 13.4051, speedKph: 20, headingDeg: 90, odometerKm: 100, energyPct: 80, locked: true };
      // Padded with whitespace to the device limit: the largest report a device may send.
      const text = JSON.stringify(report);
      await device.publishAsync(deviceTopics.telemetry(carId), text + ' '.repeat(MAX_DEVICE_PAYLOAD_BYTES - Buffer.byteLength(text)), { qos: 1 });
      await eventually(async () => (await t.counter('telemetryReports', { result: 'accepted' })) === accepted + 1 || undefined, 'the report to be accepted');
      assert.ok(device.connected);
    });

    it('drops a connection that announces a huge packet before it has even said who it is', async () => {
      const refused = await t.counter('deviceRefusals', { reason: 'packet_too_large' });
      const socket = connect(t.module.gateway.port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      // A CONNECT header declaring 200 MB, and a little of its body: the rest never needs sending.
      socket.write(Buffer.concat([Buffer.from([0x10, ...remainingLength(200 * 1024 * 1024)]), Buffer.alloc(1024)]));
      await once(socket, 'close');
      await eventually(async () => (await t.counter('deviceRefusals', { reason: 'packet_too_large' })) === refused + 1 || undefined, 'the refusal to be counted');
    });
  });
}
