import type { LiveCar } from '@carshare/contracts';
import type { Caller } from '@carshare/platform';
import type { LiveView } from './live-view.ts';

/** One change to the fleet as the live feed needs it. */
export type FleetUpdate =
  | { kind: 'position'; car: LiveCar }
  /** A state change carries no position: the hub applies it to the car's last known one. */
  | { kind: 'state'; carId: string; state: LiveCar['state']; ts: number };

export interface FleetUpdateListener {
  update(update: FleetUpdate): void;
  /** Updates were missed (the broker connection was lost): views should be loaded again. */
  gap(): void;
}

/**
 * Where live changes come from: the car service's `car.telemetry` and `car.state_changed`
 * events, received by every gateway instance (a broadcast subscription). Optional: without it the
 * hub re-reads each view's snapshot periodically.
 */
export interface FleetUpdates {
  start(listener: FleetUpdateListener): Promise<{ stop(): Promise<void> }>;
}

/** The cars a view shows right now, from the car service (what a new or resumed connection starts from). */
export interface FleetSnapshots {
  forView(view: LiveView, caller: Caller): Promise<LiveCar[]>;
}
