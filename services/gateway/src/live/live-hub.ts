import type { LiveCar } from '@carshare/contracts';
import type { Logger } from '@carshare/observability';
import type { Caller, Scheduler } from '@carshare/platform';
import type { FleetSnapshots, FleetUpdate, FleetUpdates } from './fleet-sources.ts';
import type { LiveView } from './live-view.ts';
import { LiveSession, type LiveSessionLimits, type LiveSocket } from './live-session.ts';

export interface LiveHubSettings extends LiveSessionLimits {
  /** How often queued changes go out: the throttle of position updates per client. */
  flushIntervalMs: number;
  /** Without a live source, how often each view is read again from the car service. */
  refreshIntervalMs: number;
  maxSessions: number;
  maxSessionsPerUser: number;
  /**
   * Snapshots read at once; the others wait their turn. 500 riders connecting together asked for
   * 500 at once and the gateway's bulkhead to the car service (64 running, 128 queued) refused
   * the rest, closing their sockets (fleet bench, 2026-12-06): a storm of connections, after a
   * gateway restart say, now waits instead of failing, and leaves the car service's bulkhead to
   * the requests it is there for.
   */
  maxConcurrentSnapshots: number;
}

export const defaultLiveHubSettings: LiveHubSettings = {
  // The wait for the next flush is part of every update's latency (uniform up to this): at 500 ms
  // it was half the 1 s p99 goal by itself (fleet bench, 500 riders, 2026-12-05). 250 ms doubles
  // the messages, not the car updates (changes are coalesced per car either way).
  flushIntervalMs: 250,
  refreshIntervalMs: 3_000,
  maxSessions: 10_000,
  maxSessionsPerUser: 5,
  maxConcurrentSnapshots: 16,
  maxBufferedBytes: 1 << 20,
  maxCarsPerView: 2_000,
};

export class LiveFeedFull extends Error {
  readonly code: 'TOO_MANY_CONNECTIONS';

  constructor(message: string) {
    super(message);
    this.code = 'TOO_MANY_CONNECTIONS';
  }
}

/**
 * Fans the fleet's changes out to the open live connections of this gateway instance. Keeps the
 * last known state of each car (so a state change, which has no position, can be shown), offers
 * every change to every session (each decides by its view), and flushes all sessions on one timer.
 */
export class LiveHub {
  readonly stats = { opened: 0, droppedSlow: 0, updates: 0, snapshotsFailed: 0 };
  readonly #sessions = new Set<LiveSession>();
  readonly #perUser = new Map<string, number>();
  readonly #cars = new Map<string, LiveCar>();
  readonly #snapshots: FleetSnapshots;
  #snapshotsRunning = 0;
  readonly #snapshotsWaiting: (() => void)[] = [];
  readonly #updates: FleetUpdates | undefined;
  readonly #scheduler: Scheduler;
  readonly #settings: LiveHubSettings;
  readonly #logger: Logger;
  #flushTimer: unknown;
  #refreshTimer: unknown;
  #stopUpdates: (() => Promise<void>) | undefined;
  #running = false;

  constructor(options: { snapshots: FleetSnapshots; updates?: FleetUpdates | undefined; scheduler: Scheduler; logger: Logger; settings?: Partial<LiveHubSettings> }) {
    this.#snapshots = options.snapshots;
    this.#updates = options.updates;
    this.#scheduler = options.scheduler;
    this.#logger = options.logger;
    this.#settings = { ...defaultLiveHubSettings, ...options.settings };
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  get live(): boolean {
    return this.#updates !== undefined;
  }

  async start(): Promise<void> {
    this.#running = true;
    if (this.#updates) {
      const subscription = await this.#updates.start({
        update: (update) => this.apply(update),
        gap: () => void this.#refreshAll(),
      });
      this.#stopUpdates = () => subscription.stop();
    } else {
      this.#logger.info('live feed: no broadcast source of car events; views are re-read from the car service every few seconds');
      this.#scheduleRefresh();
    }
    this.#scheduleFlush();
  }

  /** A new connection of an authenticated caller; refused when this instance or this user has too many. */
  open(socket: LiveSocket, caller: Caller): LiveSession {
    if (this.#sessions.size >= this.#settings.maxSessions) throw new LiveFeedFull('this gateway has as many live connections as it takes; try another or later');
    const mine = this.#perUser.get(caller.userId) ?? 0;
    if (mine >= this.#settings.maxSessionsPerUser) throw new LiveFeedFull(`at most ${this.#settings.maxSessionsPerUser} live connections per user`);
    const session = new LiveSession(socket, caller, this.#settings);
    this.#sessions.add(session);
    this.#perUser.set(caller.userId, mine + 1);
    this.stats.opened += 1;
    return session;
  }

  /** Sets what a session watches and sends it the snapshot to start from. */
  async watch(session: LiveSession, view: LiveView): Promise<void> {
    const cars = await this.#readSnapshot(view, session.caller);
    for (const car of cars) this.#remember(car);
    // Cars the hub heard of since the snapshot was read are newer than what it says.
    session.snapshot(view, cars.map((car) => this.#cars.get(car.id) ?? car));
  }

  async #readSnapshot(view: LiveView, caller: Caller): Promise<LiveCar[]> {
    // A slot is handed from the read that ends to the next waiting one, so the count stays right.
    if (this.#snapshotsRunning < this.#settings.maxConcurrentSnapshots) this.#snapshotsRunning++;
    else await new Promise<void>((resolve) => this.#snapshotsWaiting.push(resolve));
    try {
      return await this.#snapshots.forView(view, caller);
    } finally {
      const next = this.#snapshotsWaiting.shift();
      if (next) next();
      else this.#snapshotsRunning--;
    }
  }

  closed(session: LiveSession): void {
    if (!this.#sessions.delete(session)) return;
    const left = (this.#perUser.get(session.caller.userId) ?? 1) - 1;
    if (left <= 0) this.#perUser.delete(session.caller.userId);
    else this.#perUser.set(session.caller.userId, left);
  }

  apply(update: FleetUpdate): void {
    this.stats.updates += 1;
    let car: LiveCar | undefined;
    if (update.kind === 'position') {
      const known = this.#cars.get(update.car.id);
      if (known && known.ts > update.car.ts) return;
      car = known?.category !== undefined && update.car.category === undefined ? { ...update.car, category: known.category } : update.car;
    } else {
      const known = this.#cars.get(update.carId);
      if (!known) return;
      car = { ...known, state: update.state, ts: Math.max(known.ts, update.ts) };
    }
    this.#cars.set(car.id, car);
    for (const session of this.#sessions) session.offer(car);
  }

  flush(): void {
    for (const session of this.#sessions) {
      session.flush();
      if (session.closed) {
        this.stats.droppedSlow += 1;
        this.closed(session);
      }
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#flushTimer !== undefined) this.#scheduler.clearTimeout(this.#flushTimer);
    if (this.#refreshTimer !== undefined) this.#scheduler.clearTimeout(this.#refreshTimer);
    await this.#stopUpdates?.();
    for (const session of this.#sessions) session.close(1001, 'the gateway is shutting down');
    this.#sessions.clear();
    this.#perUser.clear();
  }

  #remember(car: LiveCar): void {
    const known = this.#cars.get(car.id);
    if (!known || known.ts <= car.ts) this.#cars.set(car.id, car);
  }

  async #refreshAll(): Promise<void> {
    for (const session of [...this.#sessions]) {
      const view = session.view;
      if (!view || session.closed) continue;
      try {
        const cars = await this.#snapshots.forView(view, session.caller);
        for (const car of cars) this.#remember(car);
        session.reconcile(cars);
      } catch (error) {
        this.stats.snapshotsFailed += 1;
        this.#logger.warn({ err: error }, 'live feed: could not re-read a view; keeping what the client shows');
      }
    }
  }

  #scheduleFlush(): void {
    if (!this.#running) return;
    this.#flushTimer = this.#scheduler.setTimeout(() => {
      this.flush();
      this.#scheduleFlush();
    }, this.#settings.flushIntervalMs);
  }

  #scheduleRefresh(): void {
    if (!this.#running) return;
    this.#refreshTimer = this.#scheduler.setTimeout(() => {
      void this.#refreshAll().finally(() => this.#scheduleRefresh());
    }, this.#settings.refreshIntervalMs);
  }
}
