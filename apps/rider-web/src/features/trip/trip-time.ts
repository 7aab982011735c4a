import type { RouteResponse, tripRoutes } from '@carshare/contracts';

type Trip = RouteResponse<typeof tripRoutes.get>;

/** Time on the road from the server's timestamps: start to now (or finish), less the parking time. */
export function drivingMs(trip: Pick<Trip, 'startedAt' | 'finishedAt' | 'pausedMs' | 'pausedSince'>, now: number): number {
  if (!trip.startedAt) return 0;
  const end = trip.finishedAt ? Date.parse(trip.finishedAt) : now;
  const parkedNow = trip.pausedSince && !trip.finishedAt ? end - Date.parse(trip.pausedSince) : 0;
  return Math.max(0, end - Date.parse(trip.startedAt) - trip.pausedMs - parkedNow);
}

export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${hours > 0 ? `${hours}:` : ''}${String(minutes).padStart(hours > 0 ? 2 : 1, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}
