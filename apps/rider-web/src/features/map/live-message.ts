import type { LiveServerMessage } from '@carshare/contracts';
import type { NearbyCarView } from './map-data.ts';

/**
 * What the live feed says about the listed cars, applied to them: `gone` ones leave (taken,
 * reserved, sent to maintenance), moved ones move. A car the list does not know yet has no
 * model or plate in the feed, so the list is read again for it.
 */
export function applyLiveMessage(cars: readonly NearbyCarView[], message: LiveServerMessage, watchedRadiusM: number): { cars: NearbyCarView[]; unknown: boolean } {
  if (message.type === 'error') return { cars: [...cars], unknown: false };
  const gone = new Set(message.type === 'changes' ? message.gone : []);
  const live = new Map(message.cars.map((car) => [car.id, car]));
  const next: NearbyCarView[] = [];
  for (const car of cars) {
    const update = live.get(car.id);
    if (gone.has(car.id) || (update && update.state !== 'available')) continue;
    // A snapshot is the whole set within the watched radius: a listed car missing from it is no longer available.
    if (message.type === 'snapshot' && !update && car.distanceM <= watchedRadiusM) continue;
    next.push(update ? { ...car, position: { lat: update.lat, lng: update.lng }, energyPct: update.energyPct } : car);
  }
  const known = new Set(cars.map((car) => car.id));
  return { cars: next, unknown: message.cars.some((car) => car.state === 'available' && !known.has(car.id)) };
}
