import type { EventEnvelope } from '@carshare/contracts';

/** Deterministic ids, so a failing comparison names the same events on every run. */
export function eventId(n: number): string {
  return `0190e8a0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
}

const ids = (prefix: string, n: number) => `${prefix}-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
export const carId = (n: number) => ids('0190e8a1', n);
export const tripId = (n: number) => ids('0190e8a2', n);
export const userId = (n: number) => ids('0190e8a3', n);
export const submissionId = (n: number) => ids('0190e8a4', n);
export const reservationId = (n: number) => ids('0190e8a5', n);
export const paymentId = (n: number) => ids('0190e8a6', n);

let sequence = 0;

export function envelope(type: string, occurredAt: string, subject: string, data: Record<string, unknown>, version = 1): EventEnvelope {
  sequence += 1;
  return { id: eventId(sequence), type, version, occurredAt, source: type.split('.')[0] as string, subject, data };
}

const stateChange = (car: number, from: string, to: string, reason: string, at: string) =>
  envelope('car.state_changed', at, carId(car), { carId: carId(car), from, to, reservationId: null, reason, version: 3 });
const created = (car: number, category: string, at: string) =>
  envelope('car.created', at, carId(car), { carId: carId(car), plate: `B-AN ${car}`, model: 'VW ID.3', category, fuelType: 'electric', seats: 5, state: 'available' });
const searched = (rider: number, at: string, carsFound = 3) => envelope('car.searched', at, userId(rider), { riderId: userId(rider), category: null, carsFound });
const trip = (n: number) => ({ tripId: tripId(n), riderId: userId(1), carId: carId(n) });
const payment = (n: number) => ({ paymentId: paymentId(n), riderId: userId(1), reference: tripId(n), currency: 'EUR' });
const reservation = (n: number) => ({ reservationId: reservationId(n), riderId: userId(1), carId: carId(n) });

/**
 * A morning of the platform, 2 March 2026 (UTC), with one capture the evening before: every
 * figure analytics keeps gets events, two of them in a later hour or another day, plus events it
 * must archive and leave alone (a payment.captured v2, a trip.paused).
 *
 * Fleet: two cars the day before (compact, premium), a compact at 09:00. Trip 4 (premium) runs
 * 11:45–13:15 and ends at the airport: its car time is cut over three hours. Searches (riders
 * 1, 4, 5, 6): rider 1 reserves 15 min after searching at 10:05 and searches again at 11:30 with
 * nothing after; rider 4 reserves 20 min after a 10:50 search, in the next hour; rider 5 searches
 * twice in one hour and never reserves; rider 6 reserves 40 min after searching, past the window.
 */
export function scriptedHistory(): EventEnvelope[] {
  sequence = 0;
  return [
    envelope('user.registered', '2026-03-02T10:05:00.000Z', userId(1), { userId: userId(1), email: 'rider@example.com', role: 'rider', plan: 'free' }),
    envelope('user.registered', '2026-03-02T10:10:00.000Z', userId(2), { userId: userId(2), email: 'ops@example.com', role: 'operator', plan: 'unlimited' }),
    stateChange(1, 'available', 'offline', 'went_silent', '2026-03-02T10:15:00.000Z'),
    stateChange(1, 'offline', 'available', 'reported', '2026-03-02T11:20:00.000Z'),
    stateChange(2, 'available', 'offline', 'went_silent', '2026-03-02T11:30:00.000Z'),
    envelope('reservation.created', '2026-03-02T10:20:00.000Z', reservationId(1), { ...reservation(1), expiresAt: '2026-03-02T10:35:00.000Z' }),
    envelope('reservation.cancelled', '2026-03-02T10:40:00.000Z', reservationId(2), reservation(2)),
    envelope('reservation.expired', '2026-03-02T12:00:00.000Z', reservationId(3), reservation(3)),
    stateChange(3, 'unlocking', 'in_use', 'unlock_acked', '2026-03-02T10:30:00.000Z'),
    stateChange(4, 'unlocking', 'available', 'device_did_not_answer', '2026-03-02T10:31:00.000Z'),
    stateChange(5, 'unlocking', 'available', 'device_refused', '2026-03-02T10:32:00.000Z'),
    envelope('trip.started', '2026-03-02T10:30:00.000Z', tripId(1), {
      ...trip(1),
      category: 'compact',
      tariffVersion: 'v1',
      depositCents: 5000,
      startedAt: '2026-03-02T10:30:00.000Z',
    }),
    envelope('trip.started', '2026-03-02T10:50:00.000Z', tripId(2), { ...trip(2), category: 'premium', tariffVersion: 'v1', depositCents: 9000, startedAt: '2026-03-02T10:50:00.000Z' }),
    envelope('trip.paused', '2026-03-02T10:55:00.000Z', tripId(1), { ...trip(1), at: '2026-03-02T10:55:00.000Z' }),
    envelope('trip.finished', '2026-03-02T11:10:00.000Z', tripId(1), {
      ...trip(1),
      finishedAt: '2026-03-02T11:10:00.000Z',
      totalCents: 1250,
      currency: 'EUR',
      distanceM: 12_000,
      zoneId: 'centre',
      paymentStatus: 'captured',
    }),
    envelope('trip.failed', '2026-03-02T10:33:00.000Z', tripId(3), { ...trip(3), reason: 'CAR_DID_NOT_UNLOCK' }),
    envelope('payment.captured', '2026-03-02T11:11:00.000Z', paymentId(1), { ...payment(1), amountCents: 1250, authorizedCents: 5000 }),
    envelope('payment.captured', '2026-03-01T23:59:00.000Z', paymentId(2), { ...payment(2), amountCents: 800, authorizedCents: 5000 }),
    envelope('payment.captured', '2026-03-02T11:40:00.000Z', paymentId(3), { ...payment(3), amountCents: 999_999, grossCents: 999_999 }, 2),
    envelope('payment.refunded', '2026-03-02T12:30:00.000Z', paymentId(1), {
      ...payment(1),
      amountCents: 200,
      totalRefundedCents: 200,
      reason: 'goodwill',
      operatorId: userId(2),
    }),
    created(1, 'compact', '2026-03-01T08:00:00.000Z'),
    created(2, 'premium', '2026-03-01T08:00:00.000Z'),
    created(6, 'compact', '2026-03-02T09:00:00.000Z'),
    envelope('trip.started', '2026-03-02T11:45:00.000Z', tripId(4), {
      ...trip(4),
      category: 'premium',
      tariffVersion: 'v1',
      depositCents: 9000,
      startedAt: '2026-03-02T11:45:00.000Z',
    }),
    envelope('trip.finished', '2026-03-02T13:15:00.000Z', tripId(4), {
      ...trip(4),
      finishedAt: '2026-03-02T13:15:00.000Z',
      totalCents: 4200,
      currency: 'EUR',
      distanceM: 30_000,
      zoneId: 'airport',
      paymentStatus: 'pending',
    }),
    searched(1, '2026-03-02T10:05:00.000Z'),
    searched(1, '2026-03-02T11:30:00.000Z'),
    searched(4, '2026-03-02T10:50:00.000Z'),
    envelope('reservation.created', '2026-03-02T11:10:00.000Z', reservationId(4), {
      reservationId: reservationId(4),
      riderId: userId(4),
      carId: carId(4),
      expiresAt: '2026-03-02T11:25:00.000Z',
    }),
    searched(5, '2026-03-02T11:05:00.000Z', 0),
    searched(5, '2026-03-02T11:30:00.000Z'),
    searched(6, '2026-03-02T11:50:00.000Z'),
    envelope('reservation.created', '2026-03-02T12:30:00.000Z', reservationId(5), {
      reservationId: reservationId(5),
      riderId: userId(6),
      carId: carId(5),
      expiresAt: '2026-03-02T12:45:00.000Z',
    }),
    envelope('profile.submitted', '2026-03-02T09:00:00.000Z', userId(1), { userId: userId(1), submissionId: submissionId(1) }),
    envelope('profile.verified', '2026-03-02T10:30:00.000Z', userId(1), { userId: userId(1), submissionId: submissionId(1), by: 'operator', expiresOn: '2030-01-01' }),
    envelope('profile.submitted', '2026-03-02T10:00:00.000Z', userId(3), { userId: userId(3), submissionId: submissionId(2) }),
    envelope('profile.rejected', '2026-03-02T10:15:00.000Z', userId(3), { userId: userId(3), submissionId: submissionId(2), reason: 'photo_unreadable' }),
  ];
}
