import type { RouteResponse, tripRoutes } from '@carshare/contracts';

export type ReservationView = RouteResponse<typeof tripRoutes.reserve>;

// The API has no "my current reservation" read, so the one this device made is remembered here
// (the server's own answer, never a guess) until it ends.
const key = 'carshare.rider.reservation';

export function loadReservation(carId: string): ReservationView | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(key) ?? 'null') as ReservationView | null;
    if (!saved || saved.carId !== carId || Date.parse(saved.expiresAt) <= Date.now()) return undefined;
    return saved;
  } catch {
    return undefined;
  }
}

export function saveReservation(reservation: ReservationView): void {
  localStorage.setItem(key, JSON.stringify(reservation));
}

export function clearReservation(): void {
  localStorage.removeItem(key);
}
