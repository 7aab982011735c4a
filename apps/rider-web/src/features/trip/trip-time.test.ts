import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drivingMs, formatDuration } from './trip-time.ts';

describe('the live trip time', () => {
  const startedAt = '2026-01-01T10:00:00.000Z';
  const at = (iso: string) => Date.parse(iso);

  it('counts from the start to now, less the parking minutes already closed', () => {
    assert.equal(drivingMs({ startedAt, finishedAt: null, pausedMs: 60_000, pausedSince: null }, at('2026-01-01T10:10:00.000Z')), 9 * 60_000);
  });

  it('stops counting while parked, and at the finish', () => {
    const parked = { startedAt, finishedAt: null, pausedMs: 0, pausedSince: '2026-01-01T10:05:00.000Z' };
    assert.equal(drivingMs(parked, at('2026-01-01T10:20:00.000Z')), 5 * 60_000);
    const finished = { startedAt, finishedAt: '2026-01-01T10:30:00.000Z', pausedMs: 120_000, pausedSince: null };
    assert.equal(drivingMs(finished, at('2026-01-01T12:00:00.000Z')), 28 * 60_000);
  });

  it('is zero before the car unlocked', () => {
    assert.equal(drivingMs({ startedAt: null, finishedAt: null, pausedMs: 0, pausedSince: null }, Date.now()), 0);
  });

  it('reads as m:ss, and h:mm:ss from an hour on', () => {
    assert.equal(formatDuration(65_000), '1:05');
    assert.equal(formatDuration(3_725_000), '1:02:05');
  });
});
