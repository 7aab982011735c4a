import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveCar, LiveServerMessage } from '@carshare/contracts';
import { LiveSession, type LiveSocket } from './live-session.ts';

class FakeSocket implements LiveSocket {
  readonly sent: LiveServerMessage[] = [];
  bufferedAmount = 0;
  closedWith: [number, string] | undefined;

  send(text: string): void {
    this.sent.push(JSON.parse(text) as LiveServerMessage);
  }

  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
  }
}

const rider = { userId: 'u1', role: 'rider' as const, plan: 'free' };
const area = { lat: 52.52, lng: 13.405, radiusM: 1000 };
const car = (n: number, overrides: Partial<LiveCar> = {}): LiveCar => ({
  id: `0190b5a0-0000-7000-8000-${String(n).padStart(12, '0')}`,
  lat: 52.52,
  lng: 13.405,
  headingDeg: 0,
  speedKph: 0,
  energyPct: 50,
  state: 'available',
  ts: n,
  ...overrides,
});

describe('LiveSession', () => {
  it('coalesces many changes of a car into its latest, so what waits is bounded by the cars in view', () => {
    const socket = new FakeSocket();
    const session = new LiveSession(socket, rider, { maxBufferedBytes: 1 << 20, maxCarsPerView: 100 });
    session.snapshot({ staff: false, area }, []);
    for (let step = 0; step < 10_000; step++) session.offer(car(step % 3, { lat: 52.52 + step * 1e-7, ts: step }));
    session.flush();
    const changes = socket.sent[1];
    assert.equal(changes?.type, 'changes');
    assert.equal(changes.type === 'changes' && changes.cars.length, 3);
    assert.equal(changes.type === 'changes' && changes.cars.find((each) => each.id === car(0).id)?.ts, 9_999);
  });

  it('says a car is gone when it stops being available, and never sends a rider its new position', () => {
    const socket = new FakeSocket();
    const session = new LiveSession(socket, rider, { maxBufferedBytes: 1 << 20, maxCarsPerView: 100 });
    session.snapshot({ staff: false, area }, [car(1)]);
    session.offer(car(1, { state: 'in_use', lat: 52.5201 }));
    session.flush();
    assert.deepEqual(socket.sent[1], { type: 'changes', cars: [], gone: [car(1).id] });
    session.offer(car(1, { state: 'in_use', lat: 52.5202 }));
    session.flush();
    assert.equal(socket.sent.length, 2, 'nothing about a car in use');
  });

  it('drops a client whose socket has more than the bound queued, instead of queueing more', () => {
    const socket = new FakeSocket();
    const session = new LiveSession(socket, rider, { maxBufferedBytes: 1000, maxCarsPerView: 100 });
    session.snapshot({ staff: false, area }, []);
    socket.bufferedAmount = 1001;
    session.offer(car(1));
    session.flush();
    assert.deepEqual(socket.closedWith, [4008, 'too slow: reconnect for a fresh snapshot']);
    assert.equal(session.closed, true);
    session.offer(car(2));
    session.flush();
    assert.equal(socket.sent.length, 1, 'only the snapshot was ever sent');
  });

  it('reconciles a re-read view: cars no longer listed are gone', () => {
    const socket = new FakeSocket();
    const session = new LiveSession(socket, rider, { maxBufferedBytes: 1 << 20, maxCarsPerView: 100 });
    session.snapshot({ staff: false, area }, [car(1), car(2)]);
    session.reconcile([car(2, { lat: 52.5201 }), car(3)]);
    session.flush();
    const changes = socket.sent[1];
    assert.ok(changes?.type === 'changes');
    assert.deepEqual(changes.gone, [car(1).id]);
    assert.deepEqual(changes.cars.map((each) => each.id).sort(), [car(2).id, car(3).id]);
  });

  it('sends nothing for a car the client already shows as it is', () => {
    const socket = new FakeSocket();
    const session = new LiveSession(socket, rider, { maxBufferedBytes: 1 << 20, maxCarsPerView: 100 });
    session.snapshot({ staff: false, area }, [car(1)]);
    session.reconcile([car(1, { ts: 99 })]);
    session.flush();
    assert.equal(socket.sent.length, 1);
  });

  it('keeps a view to its most cars', () => {
    const socket = new FakeSocket();
    const session = new LiveSession(socket, rider, { maxBufferedBytes: 1 << 20, maxCarsPerView: 2 });
    session.snapshot({ staff: false, area }, [car(1), car(2), car(3)]);
    session.offer(car(4));
    assert.equal(session.shownCount, 2);
  });
});
