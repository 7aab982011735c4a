import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { metricNames } from '@carshare/observability';
import { Registry } from 'prom-client';
import { carMetrics } from './car-metrics.ts';

const promtoolMissing = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error !== undefined;

/** Every series the car service can expose, each with a sample, as one scrape page. */
async function scrapeAll(): Promise<string> {
  const registry = new Registry();
  const metrics = carMetrics(registry);
  metrics.telemetry('accepted');
  metrics.telemetry('rate_limited');
  metrics.refused('packet_too_large');
  metrics.ignoredAck('late');
  metrics.flushFailed();
  metrics.watchConnectedDevices(() => 3);
  return await registry.metrics();
}

const familiesOn = (page: string): Set<string> =>
  new Set(
    page
      .split('\n')
      .filter((line) => line.startsWith('# TYPE '))
      .map((line) => line.split(' ')[2] as string),
  );

describe("the car service's metrics", () => {
  it('are exactly the names the telemetry registry lists for it', async () => {
    assert.deepEqual([...familiesOn(await scrapeAll())].sort(), Object.values(metricNames.car).sort());
  });

  it('pass promtool check metrics', { skip: promtoolMissing ? 'promtool is not installed (apt-get install prometheus ships it): metric names were not linted' : false }, async () => {
    const result = spawnSync('promtool', ['check', 'metrics'], { input: await scrapeAll(), encoding: 'utf8', timeout: 30_000 });
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '');
    assert.equal(result.status, 0);
  });

  it('can be registered twice on one registry (two modules in one process share it)', async () => {
    const registry = new Registry();
    carMetrics(registry).telemetry('accepted');
    carMetrics(registry).telemetry('accepted');
    assert.match(await registry.metrics(), /^carshare_car_telemetry_reports_total\{result="accepted"\} 2$/m);
  });
});
