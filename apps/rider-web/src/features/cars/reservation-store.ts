import type { RouteResponse, tripRoutes } from '@carshare/contracts';

export type ReservationView = RouteResponse<typeof tripRoutes.reserve>;

// The hold this device made, remembered (the server's own answer, never a guess) so the countdown
// shows at once; `/v1/me` confirms or replaces it when the car screen opens.
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
