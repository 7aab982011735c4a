import assert from 'node:assert/strict';
import { it } from 'node:test';
import { searchAreaOf } from './map-data.ts';

it('searches around the middle of the street network, far enough to reach its corners', () => {
  const area = searchAreaOf([13.3, 52.5, 13.4, 52.56]);
  assert.ok(Math.abs(area.lat - 52.53) < 1e-9 && Math.abs(area.lng - 13.35) < 1e-9);
  // Half the diagonal: ~3.4 km east-west and ~3.3 km north-south halves → ~4.7 km.
  assert.ok(area.radiusM > 4_500 && area.radiusM < 4_900, String(area.radiusM));
  assert.equal(searchAreaOf([-10, -10, 10, 10]).radiusM, 50_000, 'capped at what the API accepts');
});
