import { Conflict, isAppError, NotFound, Unavailable } from '@carshare/platform';
import type { RoutePoint } from '../domain/route.ts';
import type { CarPort, CarSnapshot, OnBehalf, PaymentPort, ProfilePort } from '../ports.ts';

interface FakeCar {
  category: string;
  state: 'available' | 'reserved' | 'in_use';
  locked: boolean;
  reservationId: string | undefined;
  position: { lat: number; lng: number } | undefined;
  energyPct: number;
  /** What the device reported, oldest first. */
  telemetry: RoutePoint[];
}

/**
 * The car service as the trip service sees it, with its promises: of concurrent claims exactly
 * one wins, a repeated winning claim answers again, releasing a car no longer held is a no-op.
 * `failNext` injects a fault into the next call of a method.
 */
export class FakeCars implements CarPort {
  readonly cars = new Map<string, FakeCar>();
  readonly calls: { method: string; carId: string; reservationId: string; riderId: string }[] = [];
  readonly #faults = new Map<string, Error[]>();

  add(carId: string, category = 'compact'): void {
    this.cars.set(carId, { category, state: 'available', reservationId: undefined, locked: true, position: undefined, energyPct: 80, telemetry: [] });
  }

  /** The device reports a point: the car's position moves there and the point joins its history. */
  report(carId: string, point: RoutePoint, energyPct?: number): void {
    const car = this.#car(carId);
    car.telemetry.push(point);
    car.position = { lat: point.lat, lng: point.lng };
    if (energyPct !== undefined) car.energyPct = energyPct;
  }

  failNext(method: 'claim' | 'release' | 'unlock' | 'lock' | 'getCar' | 'telemetrySince', error: Error = Unavailable('CAR_SERVICE_UNAVAILABLE', 'car service down')): void {
    this.#faults.set(method, [...(this.#faults.get(method) ?? []), error]);
  }

  #fault(method: string): void {
    const error = this.#faults.get(method)?.shift();
    if (error) throw error;
  }

  #car(carId: string): FakeCar {
    const car = this.cars.get(carId);
    if (!car) throw NotFound('CAR_NOT_FOUND', `no car ${carId}`);
    return car;
  }

  async claim(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<{ category: string }> {
    this.calls.push({ method: 'claim', ...input, riderId: on.riderId });
    this.#fault('claim');
    const car = this.#car(input.carId);
    if (car.reservationId === input.reservationId) return { category: car.category };
    if (car.state !== 'available') throw Conflict('CAR_NOT_AVAILABLE', `the car is ${car.state}`);
    car.state = 'reserved';
    car.reservationId = input.reservationId;
    return { category: car.category };
  }

  async release(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<void> {
    this.calls.push({ method: 'release', ...input, riderId: on.riderId });
    this.#fault('release');
    const car = this.#car(input.carId);
    if (car.state === 'available') return;
    if (car.reservationId !== input.reservationId) throw Conflict('NOT_YOUR_CAR', 'another reservation holds the car');
    if (car.state !== 'reserved') throw Conflict('INVALID_CAR_TRANSITION', `the car is ${car.state}`);
    car.state = 'available';
    car.reservationId = undefined;
  }

  #held(input: { carId: string; reservationId: string }): FakeCar {
    const car = this.#car(input.carId);
    if (car.reservationId !== input.reservationId) throw Conflict('NOT_YOUR_CAR', 'another reservation holds the car');
    return car;
  }

  async unlock(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<void> {
    this.calls.push({ method: 'unlock', ...input, riderId: on.riderId });
    this.#fault('unlock');
    const car = this.#held(input);
    car.state = 'in_use';
    car.locked = false;
  }

  async lock(input: { carId: string; reservationId: string }, on: OnBehalf): Promise<void> {
    this.calls.push({ method: 'lock', ...input, riderId: on.riderId });
    this.#fault('lock');
    const car = this.#held(input);
    if (car.state !== 'in_use') throw Conflict('INVALID_CAR_TRANSITION', `the car is ${car.state}`);
    // As the car service does: a confirmed lock ends the use and frees the car.
    car.locked = true;
    car.state = 'available';
    car.reservationId = undefined;
  }

  async getCar(carId: string, on: OnBehalf): Promise<CarSnapshot> {
    this.calls.push({ method: 'getCar', carId, reservationId: '', riderId: on.riderId });
    this.#fault('getCar');
    const car = this.#car(carId);
    return { position: car.position, energyPct: car.energyPct, state: car.state, reservationId: car.reservationId };
  }

  async telemetrySince(carId: string, since: number, on: OnBehalf): Promise<RoutePoint[]> {
    this.calls.push({ method: 'telemetrySince', carId, reservationId: '', riderId: on.riderId });
    this.#fault('telemetrySince');
    return this.#car(carId).telemetry.filter((point) => point.at >= since);
  }
}

interface FakePayment {
  paymentId: string;
  riderId: string;
  reference: string;
  amountCents: number;
  status: 'authorized' | 'voided' | 'captured' | 'capture_pending';
  /** Every capture the processor performed (a retry with the same amount is not a second one). */
  captures: number[];
}

/** The payment service as the trip service sees it: one payment per reference, void by id. */
export class FakePayments implements PaymentPort {
  readonly payments = new Map<string, FakePayment>();
  readonly #faults = new Map<string, Error[]>();
  #next = 0;

  /** Captures the payment service accepted but its processor has not done yet (outage). */
  processorDown = false;

  failNext(method: 'authorize' | 'void' | 'capture', error: Error = Unavailable('PAYMENT_PROVIDER_UNAVAILABLE', 'provider down')): void {
    this.#faults.set(method, [...(this.#faults.get(method) ?? []), error]);
  }

  #fault(method: string): void {
    const error = this.#faults.get(method)?.shift();
    if (error) throw error;
  }

  /** Holds still open: after a failed start there must be none. */
  openHolds(): FakePayment[] {
    return [...this.payments.values()].filter((payment) => payment.status === 'authorized');
  }

  async authorize(input: { riderId: string; reference: string; amountCents: number }): Promise<{ paymentId: string }> {
    this.#fault('authorize');
    const existing = this.payments.get(input.reference);
    if (existing) return { paymentId: existing.paymentId };
    this.#next += 1;
    const paymentId = `00000000-0000-7000-8000-${String(this.#next).padStart(12, '0')}`;
    this.payments.set(input.reference, { paymentId, ...input, status: 'authorized', captures: [] });
    return { paymentId };
  }

  async void(paymentId: string): Promise<void> {
    this.#fault('void');
    const payment = [...this.payments.values()].find((candidate) => candidate.paymentId === paymentId);
    if (!payment) throw NotFound('PAYMENT_NOT_FOUND', `no payment ${paymentId}`);
    if (payment.status === 'authorized') payment.status = 'voided';
  }

  /** Like the payment service: keyed per payment, so a repeat with the same amount charges once. */
  async capture(paymentId: string, amountCents: number): Promise<{ status: 'captured' | 'pending' }> {
    this.#fault('capture');
    const payment = [...this.payments.values()].find((candidate) => candidate.paymentId === paymentId);
    if (!payment) throw NotFound('PAYMENT_NOT_FOUND', `no payment ${paymentId}`);
    if (payment.status === 'voided') throw Conflict('PAYMENT_STATE_CONFLICT', 'the payment is voided');
    if (payment.status === 'captured') {
      if (payment.captures[0] !== amountCents) throw Conflict('CAPTURE_AMOUNT_CHANGED', 'captured with another amount');
      return { status: 'captured' };
    }
    if (this.processorDown) {
      payment.status = 'capture_pending';
      return { status: 'pending' };
    }
    payment.captures.push(amountCents);
    payment.status = 'captured';
    return { status: 'captured' };
  }

  /** Every capture performed, over all payments. */
  allCaptures(): number[] {
    return [...this.payments.values()].flatMap((payment) => payment.captures);
  }

  /** Fees charged alone, by reference, as the payment service keeps them. */
  readonly fees = new Map<string, 'charged' | 'failed'>();

  /**
   * Like the payment service: one fee per reference, a hold and its capture; a refusal (a fault
   * of kind FAILED_PRECONDITION, e.g. PAYMENT_DECLINED) is kept `failed` and answered as such
   * again; any other fault is the payment service not answering, and nothing is kept.
   */
  async chargeFee(input: { riderId: string; reference: string; amountCents: number; description: string }): Promise<{ status: 'charged' | 'failed' }> {
    const known = this.fees.get(input.reference);
    if (known) return { status: known };
    try {
      const { paymentId } = await this.authorize(input);
      await this.capture(paymentId, input.amountCents);
    } catch (error) {
      if (!(isAppError(error) && error.code === 'FAILED_PRECONDITION')) throw error;
      this.fees.set(input.reference, 'failed');
      return { status: 'failed' };
    }
    this.fees.set(input.reference, 'charged');
    return { status: 'charged' };
  }

  async findByReference(reference: string): Promise<{ paymentId: string; status: string } | undefined> {
    const payment = this.payments.get(reference);
    return payment && { paymentId: payment.paymentId, status: payment.status };
  }
}

/** Verified riders by id; everyone else is not (as for a rider without a profile). */
export class FakeProfiles implements ProfilePort {
  readonly verified = new Set<string>();
  async isVerified(on: OnBehalf): Promise<boolean> {
    return this.verified.has(on.riderId);
  }
}
