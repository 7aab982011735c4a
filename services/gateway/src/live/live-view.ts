import type { LiveCar, LiveWatch } from '@carshare/contracts';

/** What one connection watches: riders an area (available cars only), staff an area or everything. */
export interface LiveView {
  staff: boolean;
  area: { lat: number; lng: number; radiusM: number } | undefined;
}

export type ViewError = { code: 'AREA_REQUIRED' | 'AREA_INCOMPLETE'; message: string };

/**
 * The view a watch message asks for, or why it cannot have it. Pure. A rider must give a whole
 * area: "every car" is for staff, since a rider's feed must never carry cars in use (whose
 * positions are someone's whereabouts).
 */
export function viewFromWatch(watch: LiveWatch, staff: boolean): LiveView | ViewError {
  const given = [watch.lat, watch.lng, watch.radiusM].filter((value) => value !== undefined).length;
  if (given === 3) return { staff, area: { lat: watch.lat as number, lng: watch.lng as number, radiusM: watch.radiusM as number } };
  if (given > 0) return { code: 'AREA_INCOMPLETE', message: 'an area needs lat, lng and radiusM together' };
  if (!staff) return { code: 'AREA_REQUIRED', message: 'riders watch an area: send lat, lng and radiusM' };
  return { staff, area: undefined };
}

/** Whether a car belongs in a view: riders see available cars only, everyone only inside their area. */
export function viewShows(view: LiveView, car: LiveCar): boolean {
  if (!view.staff && car.state !== 'available') return false;
  const area = view.area;
  if (!area) return true;
  // A cheap box check first: most cars of a city are far outside a rider's circle.
  const dLatM = Math.abs(car.lat - area.lat) * 111_320;
  if (dLatM > area.radiusM) return false;
  const metresPerLng = 111_320 * Math.cos((area.lat * Math.PI) / 180);
  const dLngM = Math.abs(car.lng - area.lng) * metresPerLng;
  if (dLngM > area.radiusM) return false;
  return dLatM * dLatM + dLngM * dLngM <= area.radiusM * area.radiusM;
}
