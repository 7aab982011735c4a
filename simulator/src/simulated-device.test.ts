import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCity, haversineM } from '@carshare/city';
import { TelemetryReport, type CommandAck } from '@carshare/contracts';
import { Compile } from 'typebox/compile';
import type { FailureModes } from './domain/failure-modes.ts';
import { FleetSimulator, type SimulatorSettings } from './fleet-simulator.ts';
import { ManualTime } from './testing/manual-time.ts';
import { RecordingLink } from './testing/recording-link.ts';

const city = generateCity({ sizeKm: 2 });
const carId = '5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0001';
const reportCheck = Compile(TelemetryReport);
const settings: Partial<SimulatorSettings> = { reportIntervalMs: 2_000, tickMs: 500, commandDelayMs: [1_000, 1_000], riderPauseMs: [5_000, 5_000], ambientTripsPerHour: 0 };

async function oneDevice(failures: FailureModes = {}, extra: Partial<SimulatorSettings> = {}) {
  const time = new ManualTime();
  const link = new RecordingLink();
  const fleet = new FleetSimulator({
    city,
    cars: [{ carId, secret: 's' }],
    connect: async () => link,
    time,
    settings: { ...settings, ...extra, failures: { fleet: failures } },
  });
  await fleet.start();
  const device = fleet.devices[0];
  assert.ok(device);
  return { time, link, fleet, device };
}

function command(time: ManualTime, type: 'lock' | 'unlock', id = 'c1b7a8f0-0000-4000-8000-000000000001', ttlMs = 10_000) {
  return JSON.stringify({ id, type, expiresAt: time.now() + ttlMs });
}

describe('SimulatedDevice', () => {
  it('reports valid telemetry on its own topic once per interval', async () => {
    const { time, link } = await oneDevice();
    time.advance(20_000);
    const reports = link.on('telemetry');
    assert.ok(reports.length >= 9 && reports.length <= 11, `${reports.length} reports in 20 s at 2 s`);
    for (const report of reports) assert.ok(reportCheck.Check(report), JSON.stringify([...reportCheck.Errors(report)]));
    assert.ok(link.published.every((message) => message.topic === `cars/${carId}/telemetry` && message.qos === 0));
  });

  it('reports at a new interval once the fleet is told one, without reconnecting', async () => {
    const { time, link, fleet } = await oneDevice();
    time.advance(20_000);
    const before = link.on('telemetry').length;
    fleet.setReportInterval(500);
    time.advance(20_000);
    const after = link.on('telemetry').length - before;
    // At most one per tick (500 ms): 40 in 20 s, give or take the report due at the switch.
    assert.ok(after >= 38 && after <= 41, `${after} reports in 20 s at 500 ms`);
    assert.throws(() => fleet.setReportInterval(0), RangeError);
  });

  it('unlocks after its actuator delay, acks on its acks topic, then the rider drives off', async () => {
    const { time, link, device } = await oneDevice();
    const parkedAt = { ...device.car.state };
    device.receiveCommand(command(time, 'unlock'));
    time.advance(900);
    assert.equal(device.car.state.locked, true, 'not before the delay');
    assert.deepEqual(link.on('acks'), []);
    time.advance(200);
    assert.equal(device.car.state.locked, false);
    const [ack] = link.on('acks') as CommandAck[];
    assert.deepEqual(ack, { commandId: 'c1b7a8f0-0000-4000-8000-000000000001', ok: true, locked: false, ts: time.now() - 100 });
    assert.equal(link.published.find((message) => message.topic.endsWith('/acks'))?.topic, `cars/${carId}/acks`);
    time.advance(20_000);
    assert.ok(haversineM(parkedAt, device.car.state) > 10 || device.car.isDriving, 'an unlocked car gets driven');
    const moving = (link.on('telemetry') as TelemetryReport[]).filter((report) => report.speedKph > 0);
    assert.ok(moving.length > 0 && moving.every((report) => report.locked === false));
  });

  it('locks, which parks the car where it is, and acks locked = true', async () => {
    const { time, link, device } = await oneDevice();
    device.receiveCommand(command(time, 'unlock'));
    time.advance(8_000);
    assert.ok(device.car.isDriving);
    device.receiveCommand(command(time, 'lock', 'c1b7a8f0-0000-4000-8000-000000000002'));
    time.advance(1_000);
    assert.equal(device.car.state.locked, true);
    assert.equal(device.car.isDriving, false);
    const stoppedAt = { ...device.car.state };
    time.advance(60_000);
    assert.equal(device.car.state.lat, stoppedAt.lat);
    assert.equal((link.on('acks') as CommandAck[]).at(-1)?.locked, true);
  });

  it('acts once on a redelivered command and answers it again', async () => {
    const { time, link, fleet, device } = await oneDevice();
    const payload = command(time, 'unlock');
    device.receiveCommand(payload);
    time.advance(1_000);
    device.receiveCommand(payload);
    assert.equal(fleet.stats.commandsCarriedOut, 1);
    assert.equal(link.on('acks').length, 2);
    assert.deepEqual(link.on('acks')[0], link.on('acks')[1]);
  });

  it('does not act on a command past its expiry, and says so', async () => {
    const { time, link, device, fleet } = await oneDevice();
    device.receiveCommand(command(time, 'unlock', undefined, 500));
    time.advance(1_000);
    assert.equal(device.car.state.locked, true);
    assert.deepEqual((link.on('acks') as CommandAck[]).map((ack) => [ack.ok, ack.locked]), [[false, true]]);
    assert.equal(fleet.stats.commandsExpired, 1);
  });

  it('ignores and counts what is not a DeviceCommand', async () => {
    const { time, link, device, fleet } = await oneDevice();
    for (const payload of ['not json', '{}', JSON.stringify({ id: 'x', type: 'open', expiresAt: 1 }), JSON.stringify({ id: 'c1b7a8f0-0000-4000-8000-000000000003', type: 'unlock', expiresAt: 1, extra: true })]) {
      device.receiveCommand(payload);
    }
    time.advance(5_000);
    assert.equal(fleet.stats.commandsInvalid, 4);
    assert.equal(device.car.state.locked, true);
    assert.deepEqual(link.on('acks'), []);
  });

  describe('failure modes', () => {
    it('never ack: the command is neither carried out nor answered', async () => {
      const { time, link, device, fleet } = await oneDevice({ neverAck: true });
      device.receiveCommand(command(time, 'unlock'));
      time.advance(60_000);
      assert.equal(device.car.state.locked, true);
      assert.deepEqual(link.on('acks'), []);
      assert.equal(fleet.stats.commandsIgnored, 1);
    });

    it('late ack: carried out on time, answered only after the extra delay', async () => {
      const { time, link, device } = await oneDevice({ lateAckMs: 30_000 });
      device.receiveCommand(command(time, 'unlock'));
      time.advance(1_000);
      assert.equal(device.car.state.locked, false, 'the locks moved on time');
      time.advance(29_999);
      assert.deepEqual(link.on('acks'), []);
      time.advance(1);
      assert.equal((link.on('acks') as CommandAck[])[0]?.ok, true);
    });

    it('reject: answers ok = false and leaves the locks alone', async () => {
      const { time, link, device } = await oneDevice({ rejectCommands: true });
      device.receiveCommand(command(time, 'unlock'));
      time.advance(1_000);
      assert.equal(device.car.state.locked, true);
      assert.deepEqual((link.on('acks') as CommandAck[]).map((ack) => [ack.ok, ack.locked, ack.error]), [[false, true, 'actuator fault']]);
    });

    it('GPS drift: reported positions scatter around the true one within the given metres', async () => {
      const { time, link, device } = await oneDevice({ gpsDriftM: 40 });
      time.advance(60_000);
      const offsets = (link.on('telemetry') as TelemetryReport[]).map((report) => haversineM(report, device.car.state));
      assert.ok(offsets.every((metres) => metres <= 40.5), `max ${Math.max(...offsets)}`);
      assert.ok(offsets.filter((metres) => metres > 5).length > offsets.length / 2, 'most reports are off');
    });

    it('dropouts: the device goes offline, sends nothing meanwhile, and comes back', async () => {
      const { time, link, fleet } = await oneDevice({ dropouts: { meanIntervalMs: 10_000, durationMs: 20_000 } });
      const before = link.published.length;
      // The recording link throws on a publish while it is down, so any report sent offline fails here.
      time.advance(300_000);
      assert.ok(link.disconnects >= 3, `${link.disconnects} dropouts`);
      assert.ok(link.reconnects >= 3);
      assert.ok(fleet.stats.reportsSkipped > 0, 'reports were due while offline');
      assert.ok(link.published.length > before, 'and it reported again after coming back');
    });

    it('applies per-car modes over the fleet-wide ones', async () => {
      const time = new ManualTime();
      const links = [new RecordingLink(), new RecordingLink()];
      let next = 0;
      const fleet = new FleetSimulator({
        city,
        cars: [
          { carId, secret: 's' },
          { carId: '5b0c2a38-8d7e-4a1e-9d51-0f0c4f3a0002', secret: 's' },
        ],
        connect: async () => links[next++] as RecordingLink,
        time,
        settings: { ...settings, failures: { fleet: { gpsDriftM: 5 }, cars: { '#1': { neverAck: true } } } },
      });
      await fleet.start();
      assert.deepEqual(fleet.devices.map((device) => device.failures), [{ gpsDriftM: 5 }, { gpsDriftM: 5, neverAck: true }]);
    });
  });
});
