import type { Clock, Scheduler } from '@carshare/platform';

/** Where the simulator's time comes from: the wall clock when it runs, a hand-moved one in tests. */
export interface SimulationTime {
  clock: Clock;
  scheduler: Scheduler;
}
