import { seededRandom, type RandomSource, type StreetNetwork } from '@carshare/city';
import type { SimulationTime } from '../simulation-time.ts';
import { finishTrip, rideOnce, type JourneyClock, type JourneyOutcome, type JourneyReport, type JourneySettings } from './rider-journey.ts';
import { newRiderIdentity, onboardRider } from './rider-onboarding.ts';
import { ApiSession, PublicApi } from './public-api.ts';
import type { RiderIdentity, RiderRoster } from './rider-roster.ts';

export interface RiderTrafficSettings extends JourneySettings {
  /** One trip start every this many ms (on the simulation's clock); 0 turns the riders off. */
  tripEveryMs: number;
  /** How many riders exist (signed up once, kept in riders.json): at most this many trips at once. */
  riders: number;
  seed: number;
}

/** Gentle: one start every 20 s, trips of a few minutes, a small crowd. What `carshare up` runs. */
export const defaultRiderTrafficSettings: RiderTrafficSettings = {
  tripEveryMs: 20_000,
  // Under the user service's sign-up throttle (10 per address a day): all of them sign up at once.
  riders: 8,
  seed: 7,
  searchRadiusM: 2_000,
  walkMs: [5_000, 30_000],
  driveMs: [120_000, 480_000],
  parkRetryMs: 60_000,
  finishAttempts: 5,
  retries: 2,
  retryDelayMs: 2_000,
};

export class RiderStats {
  ridersOnboarded = 0;
  journeysStarted = 0;
  /** Trips the platform started (`POST /v1/trips` answered 201). */
  tripsStarted = 0;
  readonly outcomes: Record<JourneyOutcome, number> = { finished: 0, no_car_nearby: 0, cars_taken: 0, start_refused: 0, finish_refused: 0, stopped: 0, failed: 0 };
  /** Error codes the platform answered, counted: what went wrong, at a glance. */
  readonly codes = new Map<string, number>();
  /** Rate starts skipped because every rider was on a trip already. */
  skippedAllBusy = 0;
}

interface Rider {
  identity: RiderIdentity;
  /** Read from riders.json: it may have an account already. */
  known: boolean;
  session?: ApiSession;
  busy: boolean;
}

/**
 * The platform's own riders (as the OpenTelemetry demo's load generator): every `tripEveryMs` an
 * idle rider takes a trip through the public API ({@link rideOnce}): signs up first if new, has the
 * licence approved by the back office (an operator's login: simulated licences are not readable),
 * saves a card, finds a car, reserves, starts, drives, finishes. Timers come from the injected
 * {@link SimulationTime}; the calls are real HTTP to the gateway.
 */
export class RiderTraffic {
  readonly stats = new RiderStats();
  readonly #api: PublicApi;
  readonly #backOffice: ApiSession;
  readonly #city: StreetNetwork;
  readonly #time: SimulationTime;
  readonly #roster: RiderRoster | undefined;
  readonly #settings: RiderTrafficSettings;
  readonly #random: RandomSource;
  readonly #log: (message: string) => void;
  readonly #onJourney: (report: JourneyReport, riderEmail: string) => void;
  readonly #riders: Rider[] = [];
  readonly #journeys = new Set<Promise<void>>();
  readonly #sleepers = new Map<unknown, () => void>();
  /** Trips under way, by rider email: finished on stop, so no car is left in use. */
  readonly #openTrips = new Map<string, { session: ApiSession; tripId: string }>();
  #ticker: unknown;
  #turn = 0;
  #running = false;
  #onboarding: Promise<unknown> = Promise.resolve();

  constructor(options: {
    apiUrl: string;
    /** An operator's login: approves the simulated riders' licences, as the back office would. */
    operator: { email: string; password: string };
    city: StreetNetwork;
    time: SimulationTime;
    /** Keeps the riders' logins between runs; without it every start signs up new riders. */
    roster?: RiderRoster;
    settings?: Partial<RiderTrafficSettings>;
    log?: (message: string) => void;
    /** Told how each journey ended (tests, dashboards). */
    onJourney?: (report: JourneyReport, riderEmail: string) => void;
  }) {
    this.#api = new PublicApi({ apiUrl: options.apiUrl });
    this.#backOffice = new ApiSession(this.#api, options.operator);
    this.#city = options.city;
    this.#time = options.time;
    this.#roster = options.roster;
    this.#settings = { ...defaultRiderTrafficSettings, ...options.settings };
    this.#random = seededRandom(this.#settings.seed);
    this.#log = options.log ?? (() => undefined);
    this.#onJourney = options.onJourney ?? (() => undefined);
  }

  get settings(): Readonly<RiderTrafficSettings> {
    return this.#settings;
  }

  /** Trips under way now. */
  get activeJourneys(): number {
    return this.#journeys.size;
  }

  async start(): Promise<void> {
    if (this.#settings.tripEveryMs <= 0 || this.#settings.riders <= 0) return;
    const known = (await this.#roster?.load()) ?? [];
    const identities = [...known.slice(0, this.#settings.riders)];
    while (identities.length < this.#settings.riders) identities.push(newRiderIdentity(identities.length));
    if (identities.length > known.length) await this.#roster?.save(identities);
    identities.forEach((identity, index) => this.#riders.push({ identity, known: index < known.length, busy: false }));
    this.#running = true;
    this.#schedule();
  }

  /** Stops starting trips, ends the waits of those under way, finishes their trips, and waits for them. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#ticker !== undefined) this.#time.scheduler.clearTimeout(this.#ticker);
    this.#ticker = undefined;
    for (const [handle, wake] of this.#sleepers) {
      this.#time.scheduler.clearTimeout(handle);
      wake();
    }
    this.#sleepers.clear();
    await Promise.allSettled([...this.#journeys]);
  }

  /** Starts one journey now (the ticker's work; tests call it to skip the wait). Undefined when every rider is busy. */
  launch(): Promise<void> | undefined {
    // Round robin from the last one taken: a rider whose sign-up keeps failing (throttled, say)
    // must not take every turn from the others.
    const count = this.#riders.length;
    const offset = Array.from({ length: count }, (_, step) => (this.#turn + step) % count).find((index) => !(this.#riders[index] as Rider).busy);
    const rider = offset === undefined ? undefined : (this.#riders[offset] as Rider);
    if (offset !== undefined) this.#turn = offset + 1;
    if (!rider) {
      this.stats.skippedAllBusy += 1;
      return undefined;
    }
    rider.busy = true;
    this.stats.journeysStarted += 1;
    const journey = this.#journey(rider).finally(() => {
      rider.busy = false;
      this.#journeys.delete(journey);
    });
    this.#journeys.add(journey);
    return journey;
  }

  async #journey(rider: Rider): Promise<void> {
    try {
      const clock = this.#journeyClock();
      if (!rider.session) {
        rider.session = await this.#onboard(rider);
        // A trip a previous run left open (stopped hard mid-drive) is ended first: its car is in use.
        await this.#finishLeftOver(rider.session, clock);
      }
      const session = rider.session;
      if (!this.#running) return;
      const report = await rideOnce({
        rider: session,
        city: this.#city,
        random: this.#random,
        clock,
        settings: this.#settings,
        // A trip is open from the moment the platform started it until it is finished.
        onStarted: (tripId) => {
          this.stats.tripsStarted += 1;
          this.#openTrips.set(rider.identity.email, { session, tripId });
        },
      });
      this.#openTrips.delete(rider.identity.email);
      this.stats.outcomes[report.outcome] += 1;
      if (report.code) this.stats.codes.set(report.code, (this.stats.codes.get(report.code) ?? 0) + 1);
      this.#onJourney(report, rider.identity.email);
    } catch (error) {
      // Its sign-up may have gone through before the failure: next time, log in first.
      rider.known = true;
      this.stats.outcomes.failed += 1;
      const code = (error as { code?: string }).code ?? 'ERROR';
      this.stats.codes.set(code, (this.stats.codes.get(code) ?? 0) + 1);
      this.#log(`riders: ${rider.identity.email}: ${(error as Error).message}`);
      const open = this.#openTrips.get(rider.identity.email);
      this.#openTrips.delete(rider.identity.email);
      if (open && !this.#running) await this.#finishNow(open.session, open.tripId);
      this.#onJourney({ outcome: 'failed', code, ...(open && { tripId: open.tripId }) }, rider.identity.email);
    }
  }

  async #finishLeftOver(session: ApiSession, clock: JourneyClock): Promise<void> {
    const mine = await session.call<{ items: Array<{ id: string; status: string }> }>('GET', '/v1/trips', { query: { limit: 5 } });
    for (const trip of mine.items) {
      if (trip.status === 'in_progress' || trip.status === 'paused') await finishTrip({ rider: session, clock, settings: this.#settings, tripId: trip.id });
    }
  }

  async #finishNow(session: ApiSession, tripId: string): Promise<void> {
    const stoppedClock: JourneyClock = { time: this.#time, sleep: () => Promise.resolve(), stopped: () => true };
    await finishTrip({ rider: session, clock: stoppedClock, settings: { ...this.#settings, finishAttempts: 1, retries: 0 }, tripId }).catch(() => undefined);
  }

  /** One rider signs up at a time: each sign-up costs the platform a password hash and three photo checks. */
  #onboard(rider: Rider): Promise<ApiSession> {
    const onboarded = this.#onboarding.then(() => onboardRider({ api: this.#api, identity: rider.identity, known: rider.known, backOffice: this.#backOffice, now: () => this.#time.clock.now() }));
    this.#onboarding = onboarded.catch(() => undefined);
    return onboarded.then((session) => {
      // Signed up now: a retry after a later failure logs in first.
      rider.known = true;
      this.stats.ridersOnboarded += 1;
      return session;
    });
  }

  #journeyClock(): JourneyClock {
    return {
      time: this.#time,
      stopped: () => !this.#running,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          if (!this.#running) return resolve();
          const handle = this.#time.scheduler.setTimeout(() => {
            this.#sleepers.delete(handle);
            resolve();
          }, ms);
          this.#sleepers.set(handle, resolve);
        }),
    };
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#ticker = this.#time.scheduler.setTimeout(() => {
      // A journey's failure is counted in stats and logged in #journey; the ticker goes on.
      void this.launch();
      this.#schedule();
    }, this.#settings.tripEveryMs);
  }
}
