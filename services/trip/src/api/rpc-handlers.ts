import type { deadLetterRpcMethods, ReceiptWire, ReservationWire, TripWire, tripRpc } from '@carshare/contracts';
import type { RpcHandlers } from '@carshare/platform';
import type { SagaRecord } from '@carshare/saga';
import type { TripRow } from '../adapters/sql-trip-log.ts';
import type { Reservation } from '../domain/reservation.ts';
import type { createParking } from '../pause-trip.ts';
import type { createPricePreview } from '../price-preview.ts';
import { renderReceiptPdf } from '../receipt-pdf.ts';
import type { TripLifecycle } from '../start-trip.ts';
import type { LiveFee, Receipt, TripQueries } from '../trip-queries.ts';
import type { TripService } from '../trip-service.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : iso(ms));

function toWireReservation(reservation: Reservation): ReservationWire {
  return {
    id: reservation.id,
    riderId: reservation.riderId,
    carId: reservation.carId,
    status: reservation.status,
    createdAt: iso(reservation.createdAt),
    expiresAt: iso(reservation.expiresAt),
    endedAt: reservation.endedAt === undefined ? null : iso(reservation.endedAt),
    extension: reservation.extension
      ? { extendedAt: iso(reservation.extension.at), minutes: reservation.extension.minutes, feeCents: reservation.extension.feeCents, currency: reservation.extension.currency }
      : null,
  };
}

function toWireTrip(trip: TripRow): TripWire {
  // The price and where it ended are settled only once it is finished (a finish in flight may
  // still be taken back).
  const finished = trip.status === 'finished';
  return {
    id: trip.id,
    riderId: trip.riderId,
    carId: trip.carId,
    reservationId: trip.reservationId ?? null,
    status: trip.status,
    category: trip.category,
    depositCents: trip.depositCents,
    paymentId: trip.paymentId ?? null,
    failureReason: trip.failureReason ?? null,
    startedAt: isoOrNull(trip.startedAt),
    createdAt: iso(trip.createdAt),
    pausedSince: isoOrNull(trip.pausedSince),
    pausedMs: trip.pausedMs,
    finishedAt: isoOrNull(trip.finishedAt),
    paymentStatus: finished ? (trip.paymentStatus ?? null) : null,
    totalCents: finished ? (trip.price?.totalCents ?? null) : null,
    currency: finished ? (trip.price?.currency ?? null) : null,
    distanceM: finished ? (trip.distanceM ?? null) : null,
    endZoneId: finished ? (trip.endZoneId ?? null) : null,
  };
}

function toWireLiveFee(fee: LiveFee | undefined) {
  if (!fee) return null;
  return {
    drivingMinutes: fee.drivingMinutes,
    parkingMinutes: fee.parkingMinutes,
    distanceM: fee.distanceM,
    estimateCents: fee.estimateCents,
    extensionFeeCents: fee.extensionFeeCents,
    currency: fee.currency,
    packageApplied: fee.packageApplied ?? null,
    asOf: iso(fee.asOf),
  };
}

export function toWireReceipt(receipt: Receipt): ReceiptWire {
  const { trip } = receipt;
  return {
    tripId: trip.id,
    riderId: trip.riderId,
    carId: trip.carId,
    category: trip.category,
    tariffVersion: receipt.tariffVersion,
    currency: receipt.currency,
    startedAt: iso(receipt.startedAt),
    finishedAt: iso(receipt.finishedAt),
    meteredLines: receipt.meteredLines,
    meteredCents: receipt.meteredCents,
    packageApplied: receipt.packageApplied ?? null,
    feeLines: receipt.feeLines,
    totalCents: receipt.totalCents,
    vatCents: receipt.vatCents,
    vatRate: receipt.vatRate,
    depositCents: trip.depositCents,
    depositReleasedCents: receipt.depositReleasedCents,
    extraChargeCents: receipt.extraChargeCents,
    paymentStatus: trip.paymentStatus ?? 'pending',
    distanceM: trip.distanceM ?? 0,
    endZone: receipt.endZone,
  };
}

function toWireSaga(record: SagaRecord) {
  const error = (value: { reason: string; message: string } | null) => (value ? { reason: value.reason, message: value.message } : null);
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    error: error(record.error),
    createdAt: record.createdAt.toISOString(),
    finishedAt: record.finishedAt ? record.finishedAt.toISOString() : null,
    steps: record.steps.map((step) => ({
      name: step.name,
      invokeStatus: step.invokeStatus,
      invokeAttempts: step.invokeAttempts,
      invokedAt: step.invokedAt ? step.invokedAt.toISOString() : null,
      invokeError: error(step.invokeError),
      compensateStatus: step.compensateStatus,
      compensatedAt: step.compensatedAt ? step.compensatedAt.toISOString() : null,
    })),
  };
}

const page = (result: { items: TripRow[]; nextCursor: string | undefined }) => ({ items: result.items.map(toWireTrip), nextCursor: result.nextCursor ?? null });

/** The trip service's own methods; the dead-letter ones are messaging's handlers. */
type TripMethods = Omit<typeof tripRpc.methods, keyof typeof deadLetterRpcMethods>;

export type TripUseCases = TripService & TripLifecycle & ReturnType<typeof createParking> & TripQueries & ReturnType<typeof createPricePreview>;

/** Parse → one use case → map; validation and errors are the RPC server's. */
export function tripRpcHandlers(service: TripUseCases): RpcHandlers<TripMethods> {
  return {
    Reserve: async (input, ctx) => toWireReservation(await service.reserve(input, ctx.caller, ctx)),
    ExtendReservation: async (input, ctx) => toWireReservation(await service.extendReservation(input, ctx.caller)),
    CancelReservation: async (input, ctx) => toWireReservation(await service.cancelReservation(input, ctx.caller, ctx)),
    StartTrip: async (input, ctx) => toWireTrip(await service.startTrip(input, ctx.caller, ctx)),
    GetTrip: async (input, ctx) => {
      const view = await service.getTripView(input, ctx.caller, ctx);
      return { ...toWireTrip(view.trip), liveFee: toWireLiveFee(view.liveFee) };
    },
    FinishTrip: async (input, ctx) => toWireTrip(await service.finishTrip(input, ctx.caller, ctx)),
    PauseTrip: async (input, ctx) => toWireTrip(await service.pauseTrip(input, ctx.caller, ctx)),
    ResumeTrip: async (input, ctx) => toWireTrip(await service.resumeTrip(input, ctx.caller, ctx)),
    ListMyTrips: async (input, ctx) => page(await service.listMyTrips(input, ctx.caller)),
    ListTrips: async (input, ctx) => page(await service.listTrips(input, ctx.caller)),
    GetTripTimeline: async (input, ctx) => {
      const timeline = await service.getTimeline(input, ctx.caller);
      return {
        trip: toWireTrip(timeline.trip),
        events: timeline.events.map((event) => ({ seq: event.seq, type: event.type, at: iso(event.at), data: event.data })),
        sagas: timeline.sagas.map(toWireSaga),
      };
    },
    GetReceipt: async (input, ctx) => toWireReceipt(await service.getReceipt(input, ctx.caller)),
    GetReceiptPdf: async (input, ctx) => {
      const pdf = await renderReceiptPdf(await service.getReceipt(input, ctx.caller));
      return { contentBase64: pdf.toString('base64'), fileName: `receipt-${input.tripId}.pdf` };
    },
    GetZones: async () => {
      const { zones, version } = service.getZones();
      return { type: 'FeatureCollection' as const, features: zones, version };
    },
    PreviewPrice: async (input) => {
      const preview = service.previewPrice(input);
      return {
        category: preview.category,
        minutes: preview.minutes,
        km: preview.km,
        currency: preview.currency,
        tariffVersion: preview.tariffVersion,
        meteredLines: preview.meteredLines,
        meteredCents: preview.meteredCents,
        packageApplied: preview.packageApplied ?? null,
        totalCents: preview.totalCents,
        vatCents: preview.vatCents,
      };
    },
    GetMyActivity: async (_input, ctx) => {
      const { reservation, trip } = await service.getMyActivity(ctx.caller);
      return { reservation: reservation ? toWireReservation(reservation) : null, trip: trip ? toWireTrip(trip) : null };
    },
    GetMyReservation: async (_input, ctx) => {
      const reservation = await service.getMyReservation(ctx.caller);
      return { reservation: reservation ? toWireReservation(reservation) : null };
    },
  };
}
