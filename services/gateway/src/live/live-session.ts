import type { LiveCar, LiveServerMessage } from '@carshare/contracts';
import { liveFeed } from '@carshare/contracts';
import type { Caller } from '@carshare/platform';
import { viewShows, type LiveView } from './live-view.ts';

/** What a session needs of its WebSocket. */
export interface LiveSocket {
  send(text: string): void;
  /** Bytes queued in the socket, not yet written: how far behind the client is. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

export interface LiveSessionLimits {
  /** Beyond this many unsent bytes the client is too slow and is dropped. */
  maxBufferedBytes: number;
  /** Cars one view may show; more are left out (a rider's area in a dense city, a huge radius). */
  maxCarsPerView: number;
}

/**
 * One connection's view of the fleet: which cars its client shows, and the changes waiting for
 * the next flush. Changes are coalesced per car (the latest position wins), so what waits is
 * bounded by the cars in view, and the socket's own buffer is bounded by dropping a slow client.
 */
export class LiveSession {
  readonly caller: Caller;
  view: LiveView | undefined;
  closed = false;
  readonly #socket: LiveSocket;
  readonly #limits: LiveSessionLimits;
  /** The cars the client shows, each with what it was last told about it (to skip repeats). */
  readonly #shown = new Map<string, string>();
  readonly #changed = new Map<string, LiveCar>();
  readonly #gone = new Set<string>();

  constructor(socket: LiveSocket, caller: Caller, limits: LiveSessionLimits) {
    this.#socket = socket;
    this.caller = caller;
    this.#limits = limits;
  }

  get shownCount(): number {
    return this.#shown.size;
  }

  /** Starts (or restarts) the view from a snapshot: the client replaces what it shows. */
  snapshot(view: LiveView, cars: readonly LiveCar[]): void {
    this.view = view;
    this.#shown.clear();
    this.#changed.clear();
    this.#gone.clear();
    const visible = cars.filter((car) => viewShows(view, car)).slice(0, this.#limits.maxCarsPerView);
    for (const car of visible) this.#shown.set(car.id, fingerprint(car));
    this.#send({ type: 'snapshot', cars: visible });
  }

  /** A car changed: queue it if the view shows it, or its removal if it just left the view. */
  offer(car: LiveCar): void {
    const view = this.view;
    if (!view || this.closed) return;
    if (viewShows(view, car)) {
      const told = this.#shown.get(car.id);
      if (told === undefined && this.#shown.size >= this.#limits.maxCarsPerView) return;
      const now = fingerprint(car);
      // Nothing the client would draw differently (a parked car re-read): nothing to send.
      if (told === now && !this.#gone.has(car.id)) return;
      this.#shown.set(car.id, now);
      this.#gone.delete(car.id);
      this.#changed.set(car.id, car);
    } else if (this.#shown.delete(car.id)) {
      this.#changed.delete(car.id);
      this.#gone.add(car.id);
    }
  }

  /** A fresh list of what the view shows (the periodic reload): cars no longer in it are gone. */
  reconcile(cars: readonly LiveCar[]): void {
    const listed = new Set<string>();
    for (const car of cars) {
      listed.add(car.id);
      this.offer(car);
    }
    for (const id of [...this.#shown.keys()]) {
      if (!listed.has(id)) {
        this.#shown.delete(id);
        this.#changed.delete(id);
        this.#gone.add(id);
      }
    }
  }

  /** Sends what changed since the last flush, as one message; drops the client if it cannot keep up. */
  flush(): void {
    if (this.closed || (this.#changed.size === 0 && this.#gone.size === 0)) return;
    if (this.#socket.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.close(liveFeed.closeCodes.tooSlow, 'too slow: reconnect for a fresh snapshot');
      return;
    }
    const message: LiveServerMessage = { type: 'changes', cars: [...this.#changed.values()], gone: [...this.#gone] };
    this.#changed.clear();
    this.#gone.clear();
    this.#send(message);
  }

  fail(code: string, message: string, closeCode: number): void {
    this.#send({ type: 'error', error: { code, message } });
    this.close(closeCode, code);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#changed.clear();
    this.#gone.clear();
    this.#socket.close(code, reason);
  }

  #send(message: LiveServerMessage): void {
    if (this.closed) return;
    this.#socket.send(JSON.stringify(message));
  }
}

function fingerprint(car: LiveCar): string {
  return `${car.lat},${car.lng},${car.state},${car.speedKph},${car.headingDeg},${car.energyPct}`;
}
