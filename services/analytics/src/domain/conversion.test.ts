import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activityWindow, conversionFacts, type RiderActivity } from './conversion.ts';
import { tripTime, type Fact } from './projection.ts';
import { StatRowAccumulator } from './stat-rows.ts';

const minute = 60_000;
const at = (time: string) => Date.parse(`2026-03-02T${time}:00.000Z`);
let sequence = 0;
const activity = (kind: RiderActivity['kind'], time: string, riderId = 'r1'): RiderActivity => ({ eventId: `e${(sequence += 1)}`, riderId, kind, at: at(time) });

/** Every ordering of a few items: small sets only. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

/** The cells a sequence of arrivals adds up to, in a comparable order. */
function cellsOf(arrivals: readonly RiderActivity[], windowMs: number) {
  const cells = new StatRowAccumulator();
  const known: RiderActivity[] = [];
  for (const added of arrivals) {
    for (const fact of conversionFacts(known, added, windowMs)) cells.add(fact);
    known.push(added);
  }
  return cells
    .rows()
    .filter((row) => row.count !== 0 || row.sum !== 0)
    .map((row) => `${row.bucket} ${new Date(row.bucketStart).toISOString().slice(11, 16)} ${row.count}/${row.sum}`)
    .sort();
}

describe('search-to-reservation conversion', () => {
  it('counts a rider once per bucket however often they search, converted by a reservation within the window', () => {
    const history = [activity('search', '10:05'), activity('search', '10:40'), activity('reservation', '11:00'), activity('search', '11:20')];
    assert.deepEqual(cellsOf(history, 30 * minute), ['day 00:00 1/1', 'hour 10:00 1/1', 'hour 11:00 1/0']);
  });

  it('gives the same figures whatever order the events arrive in', () => {
    const history = [activity('search', '10:05'), activity('reservation', '10:30'), activity('search', '10:50'), activity('reservation', '11:15'), activity('search', '11:40')];
    const expected = cellsOf(history, 30 * minute);
    assert.deepEqual(expected, ['day 00:00 1/1', 'hour 10:00 1/1', 'hour 11:00 1/0']);
    for (const order of permutations(history)) assert.deepEqual(cellsOf(order, 30 * minute), expected, order.map((item) => item.eventId).join(','));
  });

  it('converts a reservation exactly at the end of the window, and not a minute after, nor one before the search', () => {
    assert.deepEqual(cellsOf([activity('search', '10:00'), activity('reservation', '10:30')], 30 * minute), ['day 00:00 1/1', 'hour 10:00 1/1']);
    assert.deepEqual(cellsOf([activity('search', '10:00'), activity('reservation', '10:31')], 30 * minute), ['day 00:00 1/0', 'hour 10:00 1/0']);
    assert.deepEqual(cellsOf([activity('reservation', '09:59'), activity('search', '10:00')], 30 * minute), ['day 00:00 1/0', 'hour 10:00 1/0']);
  });

  it('asks for the rider activity from the start of the earliest day a reservation may reach back to', () => {
    const window = activityWindow([activity('reservation', '00:10'), activity('search', '12:00')], 30 * minute);
    assert.equal(new Date(window.from).toISOString(), '2026-03-01T00:00:00.000Z');
    assert.equal(new Date(window.to).toISOString(), '2026-03-03T00:30:00.000Z');
  });
});

describe("a trip's car time", () => {
  const pieces = (from: string, to: string) =>
    tripTime(at(from), at(to), { category: 'van' }).map((fact: Fact) => `${fact.buckets?.join()} ${new Date(fact.at).toISOString().slice(11, 16)} ${fact.sum / minute}`);

  it('is cut at every hour it crosses, and counted whole in its day', () => {
    assert.deepEqual(pieces('10:45', '12:10'), ['hour 10:45 15', 'hour 11:00 60', 'hour 12:00 10', 'day 10:45 85']);
  });

  it('ends a piece exactly at the hour, and gives a zero-length trip one empty piece', () => {
    assert.deepEqual(pieces('10:15', '11:00'), ['hour 10:15 45', 'day 10:15 45']);
    assert.deepEqual(pieces('10:15', '10:15'), ['hour 10:15 0', 'day 10:15 0']);
  });
});
