/**
 * How long and how hard the chaos drills push. `npm test` runs the short form (the whole file
 * stays near a minute on a 2-core box, next to other suites); `npm run chaos` sets CHAOS_FULL=1
 * for longer phases, more workers and the platform's default breaker cooldown.
 */
export interface DrillSettings {
  readonly form: 'short' | 'full';
  /** The gateway's per-request budget (http.defaultDeadlineMs); no answer may come later. */
  readonly deadlineMs: number;
  /** How late past the deadline an answer may be and still count as on time. */
  readonly deadlineSlackMs: number;
  /** Proxy latency of the latency fault: well past the deadline, so every call times out. */
  readonly proxyLatencyMs: number;
  readonly breaker: { readonly windowSize: number; readonly minimumCalls: number; readonly failureRatePercent: number; readonly cooldownMs: number };
  readonly phases: {
    readonly beforeMs: number;
    readonly duringMs: number;
    /** Recovery must happen within cooldown + this (+ the time the removal itself took, e.g. a restart). */
    readonly recoveryGraceMs: number;
    /** Observed after recovery, for the after-phase success rate. */
    readonly afterMs: number;
  };
  readonly load: {
    /** Workers per route; /v1/me and the direct user read together must be able to fill the breaker's window. */
    readonly workers: { readonly me: number; readonly userDirect: number; readonly healthy: number };
    /** Pause between two requests of one worker, so load stays far below what two cores can serve. */
    readonly paceMs: number;
    /** Hard bound per worker per drill, whatever the clock says. */
    readonly maxRequestsPerWorker: number;
  };
  /** Consecutive fresh /v1/me answers that count as recovered. */
  readonly recoveredAfterSuccesses: number;
  readonly minSuccessRate: number;
  /** A 503 CIRCUIT_OPEN must be a fast failure. */
  readonly circuitOpenP99Ms: number;
  /**
   * Most the box's own delay (healthy route p99) may add to the timing bounds: past this, a slow
   * answer counts against the platform whatever else runs on the box.
   */
  readonly noiseFloorCapMs: number;
  readonly breakerPollMs: number;
}

export function drillSettings(full: boolean): DrillSettings {
  return {
    form: full ? 'full' : 'short',
    deadlineMs: 1_000,
    deadlineSlackMs: 100,
    proxyLatencyMs: 2_500,
    // The library defaults except the cooldown in the short form, which would otherwise be most of its time.
    breaker: { windowSize: 20, minimumCalls: 10, failureRatePercent: 50, cooldownMs: full ? 5_000 : 1_000 },
    phases: full
      ? // scripts/run-tests.ts gives every test file 180 s (--test-timeout) even for `npm run chaos`,
        // so seven drills plus start-up must fit in that: longer phases need a longer timeout there.
        { beforeMs: 2_000, duringMs: 8_000, recoveryGraceMs: 5_000, afterMs: 3_000 }
      : { beforeMs: 1_000, duringMs: 2_500, recoveryGraceMs: 3_000, afterMs: 1_000 },
    load: {
      // Ten user-dependent workers in flight fill half the window at once, so even a fault that
      // answers only at the deadline opens the breaker within one or two deadlines.
      workers: full ? { me: 12, userDirect: 4, healthy: 4 } : { me: 8, userDirect: 2, healthy: 2 },
      paceMs: full ? 30 : 50,
      maxRequestsPerWorker: full ? 5_000 : 1_000,
    },
    recoveredAfterSuccesses: 10,
    minSuccessRate: 0.99,
    circuitOpenP99Ms: 50,
    noiseFloorCapMs: 250,
    breakerPollMs: 200,
  };
}
