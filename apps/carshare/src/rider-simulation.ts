import { generateCity } from '@carshare/city';
import { systemClock, systemScheduler } from '@carshare/platform';
import { RiderRoster, RiderTraffic, type RiderTrafficSettings } from '@carshare/simulator';

export interface RiderSimulationOptions {
  apiUrl: string;
  /** Approves the simulated riders' licences through the review API, as a back office would. */
  operator: { email: string; password: string };
  /** riders.json (their logins) lives in `<dataDir>/simulator/`. */
  dataDir: string;
  tripEveryMs: number;
  settings?: Partial<RiderTrafficSettings>;
  say: (message: string) => void;
}

export interface RiderSimulation {
  traffic: RiderTraffic;
  /** Stops starting trips and finishes the ones under way. */
  stop(): Promise<void>;
}

/** How often `carshare up` says what the riders did, so the demo's log shows the loop is alive. */
const reportEveryMs = 120_000;

/** The simulated riders of `carshare up`: trips through the public API at a gentle rate. */
export function startRiderSimulation(options: RiderSimulationOptions): RiderSimulation {
  const { say } = options;
  const traffic = new RiderTraffic({
    apiUrl: options.apiUrl,
    operator: options.operator,
    // The same city the fleet drives and the gateway serves (default options).
    city: generateCity(),
    time: { clock: systemClock, scheduler: systemScheduler },
    roster: new RiderRoster(options.dataDir),
    settings: { ...options.settings, tripEveryMs: options.tripEveryMs },
    log: say,
  });
  const started = traffic.start().then(
    () => say(`riders: ${traffic.settings.riders} simulated riders, one trip start every ${Math.round(traffic.settings.tripEveryMs / 1000)} s (--rider-every-s, --no-riders)`),
    (error: unknown) => say(`riders: not started: ${(error as Error).message}`),
  );
  const report = setInterval(() => {
    const { tripsStarted, outcomes, codes } = traffic.stats;
    const refusals = [...codes].map(([code, count]) => `${code} ${count}`).join(', ');
    say(`riders: ${tripsStarted} trips started, ${outcomes.finished} finished, ${traffic.activeJourneys} under way${refusals ? `; refused: ${refusals}` : ''}`);
  }, reportEveryMs);
  report.unref();
  return {
    traffic,
    async stop() {
      clearInterval(report);
      await started;
      await traffic.stop();
    },
  };
}
