import { CarStateChanged, CarTelemetry, type EventEnvelope } from '@carshare/contracts';
import type { Logger } from '@carshare/observability';
import type { FleetUpdateListener, FleetUpdates } from './fleet-sources.ts';

/** The part of the event bus a live feed needs (`EventBus` of @carshare/messaging has it). */
export interface BroadcastEventSource {
  subscribeBroadcast(
    topics: readonly string[],
    handler: (event: EventEnvelope) => void | Promise<void>,
    options?: { maxBacklog?: number; onGap?: () => void },
  ): Promise<{ close(): Promise<void> }>;
}

/**
 * Live changes from the car service's events, received by every gateway instance. Broadcast is
 * at most once while connected: a gap (broker reconnect) makes the hub re-read its views.
 */
export class BroadcastFleetUpdates implements FleetUpdates {
  readonly #bus: BroadcastEventSource;
  readonly #logger: Logger;

  constructor(bus: BroadcastEventSource, logger: Logger) {
    this.#bus = bus;
    this.#logger = logger;
  }

  async start(listener: FleetUpdateListener): Promise<{ stop(): Promise<void> }> {
    let malformed = 0;
    const subscription = await this.#bus.subscribeBroadcast(
      [CarTelemetry.type, CarStateChanged.type],
      (event) => {
        if (CarTelemetry.is(event)) {
          const { carId, ts, lat, lng, headingDeg, speedKph, energyPct, state } = event.data;
          listener.update({ kind: 'position', car: { id: carId, lat, lng, headingDeg, speedKph, energyPct, state, ts: Date.parse(ts) } });
        } else if (CarStateChanged.is(event)) {
          listener.update({ kind: 'state', carId: event.data.carId, state: event.data.to, ts: Date.parse(event.occurredAt) });
        } else if (malformed++ % 1000 === 0) {
          // A newer version the feed does not know yet: skipped, said once in a while rather than per event.
          this.#logger.warn({ type: event.type, version: event.version }, 'live feed: skipped car events it cannot read');
        }
      },
      // The newest matter: a backlog is dropped oldest first rather than growing.
      { maxBacklog: 20_000, onGap: () => listener.gap() },
    );
    return { stop: () => subscription.close() };
  }
}
