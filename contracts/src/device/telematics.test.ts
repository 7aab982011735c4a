import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { CommandAck, DeviceCommand, TelemetryReport, deviceTopics, parseDeviceTopic } from './telematics.ts';

const carId = '0190a5b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b';

test('topic helpers build and parse the three device topics', () => {
  for (const channel of ['telemetry', 'acks', 'commands'] as const) {
    assert.deepEqual(parseDeviceTopic(deviceTopics[channel](carId)), { carId, channel });
  }
  assert.equal(parseDeviceTopic('cars/+/telemetry'), undefined);
  assert.equal(parseDeviceTopic(`cars/${carId}/telemetry/extra`), undefined);
  assert.equal(parseDeviceTopic(`trucks/${carId}/telemetry`), undefined);
});

test('a telemetry report, a command and an ack of the documented shape validate; extra or missing fields do not', () => {
  const report = { v: 1, ts: 1_700_000_000_000, lat: 52.5, lng: 13.4, speedKph: 30, headingDeg: 90, odometerKm: 1234.5, energyPct: 80, locked: true };
  assert.ok(Compile(TelemetryReport).Check(report));
  assert.ok(!Compile(TelemetryReport).Check({ ...report, lat: 91 }));
  assert.ok(!Compile(TelemetryReport).Check({ ...report, extra: 1 }));
  assert.ok(Compile(DeviceCommand).Check({ id: carId, type: 'unlock', expiresAt: 1 }));
  assert.ok(!Compile(DeviceCommand).Check({ id: carId, type: 'honk', expiresAt: 1 }));
  assert.ok(Compile(CommandAck).Check({ commandId: carId, ok: false, locked: true, ts: 2, error: 'jammed' }));
  assert.ok(!Compile(CommandAck).Check({ commandId: carId, ok: true, ts: 2 }));
});
