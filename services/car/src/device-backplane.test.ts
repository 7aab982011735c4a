import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deviceTopics, type DeviceCommand } from '@carshare/contracts';
import { uuidV7Ids } from '@carshare/platform';
import mqtt, { type MqttClient } from 'mqtt';
import { openCarTestModule, operator, rider, type CarTestModule } from './testing/car-test-module.ts';

// ADR 0014: devices always connect to a car-service instance's own gateway; with MQTT_URL the
// instances reach each other's devices through that broker (Mosquitto here). Two instances on one
// database: the device is connected to the first, the unlock is asked of the second.
const mqttUrl = process.env['MQTT_URL'];

describe('two car-service instances linked through an MQTT broker', { skip: mqttUrl ? false : 'MQTT_URL is not set' }, () => {
  let first: CarTestModule;
  let second: CarTestModule;
  let device: MqttClient | undefined;

  before(async () => {
    // A topic prefix per run: other runs may share the broker.
    const config = { 'devices.backplaneUrl': mqttUrl, 'devices.backplanePrefix': `carshare-test/${process.pid}-${uuidV7Ids.next()}` };
    first = await openCarTestModule({ config, databaseUrl: process.env['DATABASE_URL'] });
    second = await openCarTestModule({ config, sharedDatabase: first.database });
  });

  after(async () => {
    await device?.endAsync(true);
    await second.close();
    await first.close();
  });

  it("answers an Unlock asked of one instance with the ack of a device connected to the other", async () => {
    const { car, deviceSecret } = await first.module.service.createCar(
      { plate: 'B-BP 1', vin: 'WVWZZZ1JZ3W000901', model: 'Renault Zoe', category: 'small', seats: 4, fuelType: 'electric', position: { lat: 52.5, lng: 13.4 } },
      operator,
    );
    const reservationId = uuidV7Ids.next();
    await second.module.service.claim({ carId: car.id, reservationId }, rider);
    device = await mqtt.connectAsync(`mqtt://127.0.0.1:${first.module.gateway.port}`, { username: car.id, password: deviceSecret, reconnectPeriod: 0 });
    await device.subscribeAsync(deviceTopics.commands(car.id), { qos: 1 });
    // The device's own publishes are awaited before the test ends: the broker's PUBACK can come
    // after the unlock has completed, and a publish still in flight when the client is closed rejects.
    const acks: Array<Promise<unknown>> = [];
    device.on('message', (_topic, payload) => {
      const command = JSON.parse(payload.toString()) as DeviceCommand;
      if (device) acks.push(device.publishAsync(deviceTopics.acks(car.id), JSON.stringify({ commandId: command.id, ok: true, locked: false, ts: Date.now() }), { qos: 1 }));
    });
    const unlocked = await second.module.service.unlock({ carId: car.id, reservationId }, rider);
    await Promise.all(acks);
    assert.deepEqual([unlocked.state, unlocked.locked], ['in_use', false]);
    assert.equal(second.module.service.pendingCommands(), 0);
  });

  it("refuses a forged secret at an instance's gateway with the backplane on too", async () => {
    const { car } = await second.module.service.createCar(
      { plate: 'B-BP 2', vin: 'WVWZZZ1JZ3W000902', model: 'Renault Zoe', category: 'small', seats: 4, fuelType: 'electric' },
      operator,
    );
    await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${first.module.gateway.port}`, { username: car.id, password: 'forged', reconnectPeriod: 0 }));
  });
});
