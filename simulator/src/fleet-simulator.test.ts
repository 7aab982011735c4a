import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCity } from '@carshare/city';
import { FleetSimulator, type SimulatorSettings } from './fleet-simulator.ts';
import { ManualTime } from './testing/manual-time.ts';
import { RecordingLink } from './testing/recording-link.ts';

const city = generateCity({ sizeKm: 2 });
// A report every tick: each car sends one whenever it moves on.
const settings: Partial<SimulatorSettings> = { reportIntervalMs: 1_000, tickMs: 1_000, ambientTripsPerHour: 0 };

function carIdOf(index: number): string {
  return `5b0c2a38-8d7e-4a1e-9d51-${index.toString(16).padStart(12, '0')}`;
}

async function fleetOf(cars: number) {
  const time = new ManualTime();
  const link = new RecordingLink();
  const fleet = new FleetSimulator({
    city,
    cars: Array.from({ length: cars }, (_, index) => ({ carId: carIdOf(index), secret: 's' })),
    connect: async () => link,
    time,
    settings,
  });
  await fleet.start();
  return { time, link, fleet };
}

/** Reports sent in each `stepMs` window over `windows` windows. */
function reportsPerWindow(time: ManualTime, link: RecordingLink, stepMs: number, windows: number): number[] {
  const counts: number[] = [];
  for (let window = 0; window < windows; window++) {
    const before = link.published.length;
    time.advance(stepMs);
    counts.push(link.published.length - before);
  }
  return counts;
}

describe('FleetSimulator', () => {
  it('spreads a large fleet\'s reports over the tick instead of sending them in one burst', async () => {
    const { time, link, fleet } = await fleetOf(1_000);
    // Every car's first report is due within its first interval; from the second on, one a tick.
    time.advance(1_000);
    const counts = reportsPerWindow(time, link, 250, 8);
    await fleet.stop();
    // 1,000 cars in slices of at most 250, one slice every 250 ms.
    for (const count of counts) assert.ok(count >= 200 && count <= 250, `reports per 250 ms window: ${counts.join(', ')}`);
    assert.equal(counts.reduce((sum, count) => sum + count, 0), 2_000, 'each car still reports once a second');
  });

  it('moves a small fleet all at once, once a tick', async () => {
    const { time, link, fleet } = await fleetOf(3);
    time.advance(1_000);
    const counts = reportsPerWindow(time, link, 500, 6);
    await fleet.stop();
    assert.deepEqual(counts, [0, 3, 0, 3, 0, 3]);
  });
});
