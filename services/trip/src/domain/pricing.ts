/**
 * What a trip costs, from the tariff it started with and what the car reported: never from the
 * client. All amounts are integer cents, VAT included (riders see gross prices); the receipt
 * shows the VAT part.
 */
export interface TripPackage {
  /** e.g. `hour`, `3h`, `day`. */
  name: string;
  durationMinutes: number;
  priceCents: number;
  /** Kilometres the package includes; beyond them every km costs `extraPerKmCents`. */
  includedKm: number;
  extraPerKmCents: number;
}

export interface Tariff {
  /** Changes whenever the table changes: a trip records the version it started with. */
  version: string;
  category: string;
  currency: string;
  unlockFeeCents: number;
  drivingPerMinuteCents: number;
  parkingPerMinuteCents: number;
  perKmCents: number;
  packages: readonly TripPackage[];
  /** VAT rate included in every price, e.g. 0.19. */
  vatRate: number;
}

export type FeeCode = 'dropoff_zone' | 'low_energy' | 'reservation_extension';

export interface Fee {
  code: FeeCode;
  description: string;
  cents: number;
}

export interface TripUsage {
  drivingMs: number;
  parkingMs: number;
  distanceM: number;
  /** Charged on top of the trip price; a package cap never covers them. */
  fees: readonly Fee[];
}

export type LineCode = 'unlock' | 'driving' | 'parking' | 'distance' | 'package' | FeeCode;

export interface ReceiptLine {
  code: LineCode;
  description: string;
  /** Minutes, or metres for distance, or 1. */
  quantity: number;
  unitCents: number;
  cents: number;
}

export interface PriceBreakdown {
  currency: string;
  tariffVersion: string;
  /** The per-minute lines, always shown, even when a package was cheaper. */
  meteredLines: ReceiptLine[];
  meteredCents: number;
  /** The package charged instead of the metered lines, when one was cheaper. */
  packageApplied: { name: string; count: number; cents: number; savedCents: number } | undefined;
  feeLines: ReceiptLine[];
  totalCents: number;
  vatCents: number;
}

const minuteMs = 60_000;

/** Every started minute counts: 61 s of driving is two minutes. A segment of 0 ms is none. */
export function startedMinutes(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / minuteMs);
}

function distanceCents(distanceM: number, perKmCents: number): number {
  return Math.round((distanceM * perKmCents) / 1000);
}

function packageCents(pkg: TripPackage, totalMinutes: number, distanceM: number): { count: number; cents: number } {
  // A trip longer than the package takes as many packages as it needs, each with its own kilometres.
  const count = Math.max(1, Math.ceil(totalMinutes / pkg.durationMinutes));
  const extraM = Math.max(0, distanceM - count * pkg.includedKm * 1000);
  return { count, cents: count * pkg.priceCents + distanceCents(extraM, pkg.extraPerKmCents) };
}

/** The VAT contained in a gross amount, rounded to the cent. */
export function vatIncluded(grossCents: number, vatRate: number): number {
  return Math.round((grossCents * vatRate) / (1 + vatRate));
}

/**
 * The price of a trip: unlock + started driving minutes + started parking minutes + distance,
 * capped at the cheapest package that covers it (the rider always pays the lower), then fees.
 */
export function priceTrip(tariff: Tariff, usage: TripUsage): PriceBreakdown {
  const drivingMinutes = startedMinutes(usage.drivingMs);
  const parkingMinutes = startedMinutes(usage.parkingMs);
  const meteredLines: ReceiptLine[] = [
    { code: 'unlock', description: 'Unlock', quantity: 1, unitCents: tariff.unlockFeeCents, cents: tariff.unlockFeeCents },
    { code: 'driving', description: 'Driving minutes', quantity: drivingMinutes, unitCents: tariff.drivingPerMinuteCents, cents: drivingMinutes * tariff.drivingPerMinuteCents },
    { code: 'parking', description: 'Parking minutes', quantity: parkingMinutes, unitCents: tariff.parkingPerMinuteCents, cents: parkingMinutes * tariff.parkingPerMinuteCents },
    { code: 'distance', description: 'Distance (m)', quantity: Math.round(usage.distanceM), unitCents: tariff.perKmCents, cents: distanceCents(usage.distanceM, tariff.perKmCents) },
  ];
  const meteredCents = meteredLines.reduce((sum, line) => sum + line.cents, 0);
  const totalMinutes = startedMinutes(usage.drivingMs + usage.parkingMs);
  let packageApplied: PriceBreakdown['packageApplied'];
  for (const pkg of tariff.packages) {
    const option = packageCents(pkg, totalMinutes, usage.distanceM);
    const best = packageApplied?.cents ?? meteredCents;
    if (option.cents < best) packageApplied = { name: pkg.name, count: option.count, cents: option.cents, savedCents: meteredCents - option.cents };
  }
  const feeLines: ReceiptLine[] = usage.fees.map((fee) => ({ code: fee.code, description: fee.description, quantity: 1, unitCents: fee.cents, cents: fee.cents }));
  const tripCents = packageApplied?.cents ?? meteredCents;
  const totalCents = tripCents + feeLines.reduce((sum, line) => sum + line.cents, 0);
  return {
    currency: tariff.currency,
    tariffVersion: tariff.version,
    meteredLines,
    meteredCents,
    packageApplied,
    feeLines,
    totalCents,
    vatCents: vatIncluded(totalCents, tariff.vatRate),
  };
}

/** The price shown before a trip starts: what the first minutes and kilometres will cost. */
export function previewPrice(tariff: Tariff, plannedMinutes: number, plannedKm: number): PriceBreakdown {
  return priceTrip(tariff, { drivingMs: plannedMinutes * minuteMs, parkingMs: 0, distanceM: plannedKm * 1000, fees: [] });
}
