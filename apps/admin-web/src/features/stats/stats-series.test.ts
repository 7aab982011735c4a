import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatPoint } from '@carshare/contracts';
import { addSeries, alignSeries, bucketStarts, keysOf, ratioSeries, utilisationSeries } from './stats-series.ts';

const hour = 3_600_000;
const point = (start: string, key: string | null, count: number, sum = 0, level: number | null = null): StatPoint => ({ start: `2026-03-02T${start}:00.000Z`, key, count, sum, level });
const starts = bucketStarts(new Date('2026-03-02T10:00:00.000Z'), new Date('2026-03-02T14:00:00.000Z'), 'hour');

describe('the console stats series', () => {
  it('aligns one key of a breakdown to every bucket: counts are 0 where nothing happened, levels carry on, unknown levels stay gaps', () => {
    const points = [point('11:00', 'compact', 2, 90), point('11:00', 'van', 1, 5), point('12:00', 'compact', 1, 1, 3)];
    assert.deepEqual(alignSeries(starts, points, { metric: 'trip_time_ms', field: 'sum', key: 'compact' }), [0, 90, 1, 0]);
    assert.deepEqual(alignSeries(starts, points, { metric: 'fleet_size', field: 'level', key: 'compact' }), [null, null, 3, 3]);
    assert.deepEqual(alignSeries(starts, points, { metric: 'trip_time_ms', field: 'count' }), [0, 0, 0, 0], 'the total is not any key');
    assert.deepEqual(keysOf(points), ['compact', 'van']);
  });

  it('draws no rate where there is nothing to divide by', () => {
    assert.deepEqual(ratioSeries([1, 0, 3, null], [4, 0, 3, 2]), [25, null, 100, null]);
    assert.deepEqual(addSeries([1, 2, null], [3, 4, 5]), [4, 6, null]);
  });

  it('gives utilisation as car time over fleet time, none for an empty or unknown fleet', () => {
    assert.deepEqual(utilisationSeries([hour, 3 * hour, hour, 0], [4, 4, 0, null], 'hour'), [25, 75, null, null]);
  });
});
