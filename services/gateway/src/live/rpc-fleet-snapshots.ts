import type { carRpc, LiveCar } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import { createBackgroundContext, type Caller, type RpcClient } from '@carshare/platform';
import type { FleetSnapshots } from './fleet-sources.ts';
import type { LiveView } from './live-view.ts';

type CarClient = RpcClient<typeof carRpc.methods>;

/** Pages read for a staff view of the whole fleet: 100 cars each, so up to 20,000 cars. */
const maxFleetPages = 200;

/**
 * A view's cars from the car service, asked as the connection's user (the car service applies
 * its own rules): a rider's area through `Nearby` (available cars, nearest first), staff through
 * `ListCars`, filtered to the area if they gave one.
 */
export class RpcFleetSnapshots implements FleetSnapshots {
  readonly #car: CarClient;
  readonly #observability: Observability;
  readonly #budgetMs: number;

  constructor(car: CarClient, observability: Observability, budgetMs = 5_000) {
    this.#car = car;
    this.#observability = observability;
    this.#budgetMs = budgetMs;
  }

  async forView(view: LiveView, caller: Caller): Promise<LiveCar[]> {
    const ctx = createBackgroundContext(this.#observability, 'live feed snapshot', { budgetMs: this.#budgetMs, caller });
    try {
      if (!view.staff && view.area) {
        const { items } = await this.#car.Nearby({ lat: view.area.lat, lng: view.area.lng, radiusM: view.area.radiusM, limit: 100 }, ctx);
        // Nearby does not say when each car was last heard of: 0, so any event about it counts as newer.
        return items.map((car) => ({ id: car.id, lat: car.position.lat, lng: car.position.lng, headingDeg: 0, speedKph: 0, energyPct: car.energyPct, state: 'available', category: car.category, ts: 0 }));
      }
      const cars: LiveCar[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < maxFleetPages; page++) {
        const result = await this.#car.ListCars({ limit: 100, ...(cursor !== undefined && { cursor }) }, ctx);
        for (const car of result.items) {
          if (!car.position) continue;
          cars.push({
            id: car.id,
            lat: car.position.lat,
            lng: car.position.lng,
            headingDeg: car.headingDeg,
            speedKph: car.speedKph,
            energyPct: car.energyPct,
            state: car.state,
            category: car.category,
            ts: Date.parse(car.lastSeenAt ?? car.updatedAt),
          });
        }
        if (result.nextCursor === null) break;
        cursor = result.nextCursor;
      }
      return cars;
    } finally {
      ctx.dispose();
    }
  }
}
