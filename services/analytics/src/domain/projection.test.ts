import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventEnvelope } from '@carshare/contracts';
import { markSpan, readEvent, unlockResult, type Span } from './projection.ts';

const at = '2026-03-02T10:00:00.000Z';
const uuid = (n: number) => `0190e8a0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
const event = (type: string, data: unknown, version = 1): EventEnvelope => ({ id: uuid(1), type, version, occurredAt: at, source: 'test', subject: uuid(2), data });

describe('reading an event', () => {
  it('maps how an unlock attempt ended from the reason the car gave', () => {
    assert.deepEqual(['unlock_acked', 'device_refused', 'device_did_not_answer', 'maintenance_requested'].map(unlockResult), ['ok', 'refused', 'timeout', 'aborted']);
  });

  it('leaves a version it does not know unprojected instead of failing, and a payload that breaks its contract too', () => {
    const captured = { paymentId: uuid(3), riderId: uuid(4), reference: 'trip', currency: 'EUR', amountCents: 100, authorizedCents: 500 };
    assert.equal(readEvent(event('payment.captured', captured)).projected, true);
    assert.equal(readEvent(event('payment.captured', captured, 2)).projected, false);
    assert.equal(readEvent(event('payment.captured', { ...captured, amountCents: 'lots' })).projected, false);
    assert.equal(readEvent(event('trip.started', { tripId: uuid(2) })).projected, false);
    assert.equal(readEvent(event('fleet.renamed', {})).projected, false);
    assert.equal(readEvent({ ...event('user.registered', {}), occurredAt: 'soon' }).projected, false);
  });

  it('counts a car going offline and coming back as +1 and −1 of one level', () => {
    const change = (from: string, to: string) =>
      readEvent(event('car.state_changed', { carId: uuid(2), from, to, reservationId: null, reason: 'went_silent', version: 1 }));
    const offline = change('available', 'offline');
    const back = change('offline', 'available');
    assert.ok(offline.projected && back.projected);
    assert.deepEqual([...offline.facts, ...back.facts].map((fact) => [fact.metric, fact.sum]), [['cars_offline', 1], ['cars_offline', -1]]);
  });
});

describe('a span', () => {
  const empty = (): Span => ({ kind: 'review', id: 's', openedAt: undefined, openAttrs: {}, closedAt: undefined, closeAttrs: {} });

  it('gives its figure once, when the second end arrives, whichever end that is', () => {
    for (const order of [['open', 'close'], ['close', 'open']] as const) {
      const span = empty();
      const facts = order.flatMap((side) => markSpan(span, { kind: 'review', id: 's', side, at: side === 'open' ? 1_000 : 61_000, attrs: side === 'close' ? { outcome: 'verified' } : {} }));
      assert.deepEqual(facts, [{ metric: 'review_duration_ms', at: 61_000, count: 1, sum: 60_000, dims: { outcome: 'verified' } }], order.join(' then '));
    }
  });

  it('keeps its first close: a second one adds nothing and changes nothing', () => {
    const span = empty();
    markSpan(span, { kind: 'review', id: 's', side: 'open', at: 0, attrs: {} });
    markSpan(span, { kind: 'review', id: 's', side: 'close', at: 10, attrs: { outcome: 'verified' } });
    assert.deepEqual(markSpan(span, { kind: 'review', id: 's', side: 'close', at: 20, attrs: { outcome: 'rejected' } }), []);
    assert.deepEqual(markSpan(span, { kind: 'review', id: 's', side: 'open', at: 5, attrs: {} }), []);
    assert.equal(span.closedAt, 10);
    assert.deepEqual(span.closeAttrs, { outcome: 'verified' });
  });
});
