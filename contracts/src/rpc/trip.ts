import { Type, type Static } from 'typebox';
import { CarCategory } from './car.ts';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { NullableObject } from '../nullable.ts';
import { defineRpcService } from './define-rpc-service.ts';
import { Cursor, PageLimit } from './user.ts';

const strict = { additionalProperties: false } as const;
const Uuid = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });

export const ReservationStatus = Type.Union([Type.Literal('active'), Type.Literal('converted'), Type.Literal('cancelled'), Type.Literal('expired')]);

/** The one paid extension of a hold: when it was bought, how long it added, what it costs. */
export const ReservationExtension = Type.Object({
  extendedAt: Timestamp,
  minutes: Type.Integer({ minimum: 1 }),
  feeCents: Type.Integer({ minimum: 0 }),
  currency: Type.String({ minLength: 3, maxLength: 3 }),
});

export const Reservation = Type.Object({
  id: Uuid,
  riderId: Uuid,
  carId: Uuid,
  status: ReservationStatus,
  createdAt: Timestamp,
  /** The end of the hold; an extension moves it. */
  expiresAt: Timestamp,
  endedAt: Type.Union([Timestamp, Type.Null()]),
  /** Null until the hold is extended (at most once); the fee is a receipt line of the trip it becomes, else charged on its own. */
  extension: NullableObject(ReservationExtension),
});
export type ReservationWire = Static<typeof Reservation>;

export const TripStatus = Type.Union([
  Type.Literal('starting'),
  Type.Literal('in_progress'),
  Type.Literal('paused'),
  Type.Literal('finishing'),
  Type.Literal('finished'),
  Type.Literal('failed'),
]);

export const Trip = Type.Object({
  id: Uuid,
  riderId: Uuid,
  carId: Uuid,
  reservationId: Type.Union([Uuid, Type.Null()]),
  status: TripStatus,
  category: Type.String(),
  depositCents: Type.Integer({ minimum: 0 }),
  paymentId: Type.Union([Uuid, Type.Null()]),
  /** Why a trip ended `failed`: the failed step's reason (PAYMENT_DECLINED, DEVICE_DID_NOT_ANSWER, …). */
  failureReason: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  /** Set while the trip is paused (the car locked, minutes at the parking rate). */
  pausedSince: Type.Union([Timestamp, Type.Null()]),
  /** Parking minutes so far, in ms, not counting a pause still running. */
  pausedMs: Type.Integer({ minimum: 0 }),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  /** Once finished: `pending` while the capture waits for a retry, `captured` once charged. */
  paymentStatus: Type.Union([Type.Literal('pending'), Type.Literal('captured'), Type.Literal('failed'), Type.Null()]),
  /** The final price once finished (VAT included), else null. */
  totalCents: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()]),
  /** Metres driven, from the car's telemetry (haversine over its reported points), once finished. */
  distanceM: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
  /** The zone the trip ended in. */
  endZoneId: Type.Union([Type.String(), Type.Null()]),
});
export type TripWire = Static<typeof Trip>;

/** What a running trip costs so far: the trip's own tariff over its minutes and the car's telemetry. */
export const LiveFee = Type.Object({
  drivingMinutes: Type.Integer({ minimum: 0 }),
  parkingMinutes: Type.Integer({ minimum: 0 }),
  distanceM: Type.Number({ minimum: 0 }),
  estimateCents: Type.Integer({ minimum: 0 }),
  /** Of the estimate, what is owed whatever the end: the paid extension of the hold (0 without one), a line of the receipt too. */
  extensionFeeCents: Type.Integer({ minimum: 0 }),
  currency: Type.String(),
  /** The package the estimate is capped at, when one is cheaper than the minutes. */
  packageApplied: Type.Union([Type.String(), Type.Null()]),
  asOf: Timestamp,
});

/** A trip as `GET /v1/trips/:id` shows it: the trip's own fields, plus the live fee while it runs (null otherwise). */
export const TripView = Type.Object({ ...Trip.properties, liveFee: Type.Union([LiveFee, Type.Null()]) });
export type TripViewWire = Static<typeof TripView>;

/** A rider's reservation and trip right now: a live trip is starting, in progress, paused or finishing. */
export const RiderActivity = Type.Object({ reservation: NullableObject(Reservation), trip: NullableObject(Trip) });
export type RiderActivityWire = Static<typeof RiderActivity>;

export const TripPage = Type.Object({ items: Type.Array(Trip), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const TripTimelineEntry = Type.Object({
  seq: Type.Integer({ minimum: 1 }),
  type: Type.String(),
  at: Timestamp,
  data: Type.Record(Type.String(), Type.Unknown()),
});

export const SagaStepView = Type.Object({
  name: Type.String(),
  invokeStatus: Type.String(),
  invokeAttempts: Type.Integer(),
  invokedAt: Type.Union([Timestamp, Type.Null()]),
  invokeError: Type.Union([Type.Object({ reason: Type.String(), message: Type.String() }), Type.Null()]),
  compensateStatus: Type.String(),
  compensatedAt: Type.Union([Timestamp, Type.Null()]),
});

export const SagaView = Type.Object({
  id: Uuid,
  name: Type.String(),
  status: Type.String(),
  error: Type.Union([Type.Object({ reason: Type.String(), message: Type.String() }), Type.Null()]),
  createdAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  steps: Type.Array(SagaStepView),
});

export const TripTimeline = Type.Object({ trip: Trip, events: Type.Array(TripTimelineEntry), sagas: Type.Array(SagaView) });

const LineCode = Type.Union([
  Type.Literal('unlock'),
  Type.Literal('driving'),
  Type.Literal('parking'),
  Type.Literal('distance'),
  Type.Literal('package'),
  Type.Literal('dropoff_zone'),
  Type.Literal('low_energy'),
  Type.Literal('reservation_extension'),
]);
export const ReceiptLine = Type.Object({
  code: LineCode,
  description: Type.String(),
  /** Minutes, metres for distance, or 1. */
  quantity: Type.Number(),
  unitCents: Type.Integer(),
  cents: Type.Integer(),
});

export const Receipt = Type.Object({
  tripId: Uuid,
  riderId: Uuid,
  carId: Uuid,
  category: Type.String(),
  tariffVersion: Type.String(),
  currency: Type.String(),
  startedAt: Timestamp,
  finishedAt: Timestamp,
  /** Every metered line (unlock, driving, parking, km), shown even when a package was cheaper. */
  meteredLines: Type.Array(ReceiptLine),
  meteredCents: Type.Integer(),
  /** The package the rider paid instead of the metered lines, and what that saved. */
  packageApplied: Type.Union([Type.Object({ name: Type.String(), count: Type.Integer(), cents: Type.Integer(), savedCents: Type.Integer() }), Type.Null()]),
  feeLines: Type.Array(ReceiptLine),
  totalCents: Type.Integer(),
  /** The VAT contained in the total. */
  vatCents: Type.Integer(),
  vatRate: Type.Number(),
  depositCents: Type.Integer(),
  /** The part of the deposit hold given back (the hold minus the total, never below 0). */
  depositReleasedCents: Type.Integer(),
  /** Charged on top of the hold when the total was above it. */
  extraChargeCents: Type.Integer(),
  paymentStatus: Type.String(),
  distanceM: Type.Number(),
  endZone: Type.Object({ id: Type.String(), name: Type.String() }),
});
export type ReceiptWire = Static<typeof Receipt>;

export const ZoneCollection = Type.Object({
  type: Type.Literal('FeatureCollection'),
  features: Type.Array(
    Type.Object({
      type: Type.Literal('Feature'),
      id: Type.String(),
      properties: Type.Object({ name: Type.String(), kind: Type.String(), feeCents: Type.Optional(Type.Integer()) }),
      geometry: Type.Object({ type: Type.String(), coordinates: Type.Array(Type.Unknown()) }),
    }),
  ),
  /** The config's tariff version these zones were served with; changes on a reload. */
  version: Type.String(),
});

/** What a planned trip would cost now: the current tariff of the car's category over planned driving minutes and km. */
export const PricePreview = Type.Object({
  category: Type.String(),
  minutes: Type.Integer({ minimum: 1 }),
  km: Type.Number({ minimum: 0 }),
  currency: Type.String(),
  /** The table version the preview was priced with; a trip started later takes the version current then. */
  tariffVersion: Type.String(),
  /** Every metered line (unlock, driving, km), shown even when a package is cheaper. */
  meteredLines: Type.Array(ReceiptLine),
  meteredCents: Type.Integer(),
  /** The package the rider would pay instead of the metered lines, when one is cheaper. */
  packageApplied: Type.Union([Type.Object({ name: Type.String(), count: Type.Integer(), cents: Type.Integer(), savedCents: Type.Integer() }), Type.Null()]),
  totalCents: Type.Integer(),
  vatCents: Type.Integer(),
});
export type PricePreviewWire = Static<typeof PricePreview>;

/** Bounds of a preview (up to a day and 1,000 km), shared by the HTTP route and the RPC. */
export const previewBounds = { minutes: { minimum: 1, maximum: 1440 }, km: { minimum: 0, maximum: 1000 } } as const;

const TripIdInput = Type.Object({ tripId: Uuid }, strict);

/** The trip service's RPC contract: what callers may ask of it, and how it may fail. */
export const tripRpc = defineRpcService('trip', {
  Reserve: {
    summary: 'Hold an available car for the caller (free for the hold time); one active reservation per rider, and of riders racing for one car exactly one wins',
    input: Type.Object({ carId: Uuid }, strict),
    output: Reservation,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'EMAIL_NOT_VERIFIED', 'PROFILE_NOT_VERIFIED', 'RESERVATION_EXISTS', 'CAR_NOT_FOUND', 'CAR_NOT_AVAILABLE'],
  },
  ExtendReservation: {
    summary:
      'Hold the car longer, once per reservation, for the configured fee: expiresAt moves by the configured minutes. A second extension, or a reservation no longer active, is refused with its current state',
    input: Type.Object({ reservationId: Uuid }, strict),
    output: Reservation,
    // A repeat after success is refused (already extended): a retry must not look like a second purchase.
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'RESERVATION_NOT_FOUND', 'RESERVATION_NOT_ACTIVE', 'RESERVATION_ALREADY_EXTENDED'],
  },
  CancelReservation: {
    summary: "Give the reserved car back; cancelling a reservation that already ended answers it as it is",
    input: Type.Object({ reservationId: Uuid }, strict),
    output: Reservation,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'RESERVATION_NOT_FOUND'],
  },
  GetMyReservation: {
    summary: "The caller's active reservation, or null",
    input: Type.Object({}, strict),
    output: Type.Object({ reservation: Type.Union([Reservation, Type.Null()]) }),
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED'],
  },
  GetMyActivity: {
    summary: "The caller's active reservation and live trip (each null when there is none), in one call: what /v1/me shows",
    input: Type.Object({}, strict),
    output: RiderActivity,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED'],
  },
  StartTrip: {
    summary:
      'Start a trip on a reserved or a free car (a saga: profile verified, claim, deposit hold, unlock with the device ack); each failure compensates and the trip ends failed. The same tripId joins the same start.',
    input: Type.Object(
      {
        reservationId: Type.Optional(Uuid),
        carId: Type.Optional(Uuid),
        /** Chosen by the caller (the gateway derives it from the Idempotency-Key): a repeat joins the first start. */
        tripId: Type.Optional(Uuid),
      },
      strict,
    ),
    output: Trip,
    idempotent: true,
    errors: [
      'AUTHENTICATION_REQUIRED',
      'CAR_OR_RESERVATION_REQUIRED',
      'EMAIL_NOT_VERIFIED',
      'RESERVATION_NOT_FOUND',
      'RESERVATION_ENDED',
      'PROFILE_NOT_VERIFIED',
      'CAR_NOT_FOUND',
      'CAR_NOT_AVAILABLE',
      'NO_PAYMENT_METHOD',
      'PAYMENT_DECLINED',
      'PAYMENT_PROVIDER_UNAVAILABLE',
      'DEVICE_REFUSED',
      'DEVICE_DID_NOT_ANSWER',
      'SAGA_IN_PROGRESS',
      'TRIP_START_FAILED',
    ],
  },
  GetTrip: {
    summary: 'One trip: its rider or staff, with the live fee while it runs',
    input: TripIdInput,
    output: TripView,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'TRIP_NOT_FOUND'],
  },
  FinishTrip: {
    summary:
      'End a trip (a saga: inside an allowed zone, the car locked with the device ack, priced from telemetry and the trip tariff, the deposit captured). Finishing a finished trip answers it again; one capture per trip.',
    input: TripIdInput,
    output: Trip,
    idempotent: true,
    errors: [
      'AUTHENTICATION_REQUIRED',
      'TRIP_NOT_FOUND',
      'TRIP_NOT_IN_PROGRESS',
      'TRIP_FINISH_IN_PROGRESS',
      'OUTSIDE_OPERATING_AREA',
      'NO_PARKING_ZONE',
      'CAR_POSITION_UNKNOWN',
      'CAR_SERVICE_UNAVAILABLE',
      'DEVICE_REFUSED',
      'DEVICE_DID_NOT_ANSWER',
      'TRIP_FINISH_FAILED',
    ],
  },
  PauseTrip: {
    summary: 'Park during a trip: the car locks (device ack); minutes bill at the parking rate until resume',
    input: TripIdInput,
    output: Trip,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'TRIP_NOT_FOUND', 'TRIP_NOT_IN_PROGRESS', 'CAR_SERVICE_UNAVAILABLE', 'DEVICE_REFUSED', 'DEVICE_DID_NOT_ANSWER', 'CAR_TAKEN_WHILE_PARKING', 'TRIP_BUSY', 'TRIP_PAUSE_FAILED'],
  },
  ResumeTrip: {
    summary: 'Drive on after a pause: the car unlocks (device ack)',
    input: TripIdInput,
    output: Trip,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'TRIP_NOT_FOUND', 'TRIP_NOT_PAUSED', 'CAR_SERVICE_UNAVAILABLE', 'DEVICE_REFUSED', 'DEVICE_DID_NOT_ANSWER', 'TRIP_BUSY', 'TRIP_RESUME_FAILED'],
  },
  ListMyTrips: {
    summary: "The caller's trips, newest first",
    input: Type.Object({ limit: PageLimit, cursor: Type.Optional(Cursor) }, strict),
    output: TripPage,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'INVALID_CURSOR'],
  },
  ListTrips: {
    summary: 'Staff: every trip, newest first, filtered by status, rider, car and creation time',
    input: Type.Object(
      {
        limit: PageLimit,
        cursor: Type.Optional(Cursor),
        status: Type.Optional(TripStatus),
        riderId: Type.Optional(Uuid),
        carId: Type.Optional(Uuid),
        from: Type.Optional(Timestamp),
        to: Type.Optional(Timestamp),
      },
      strict,
    ),
    output: TripPage,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'STAFF_ONLY', 'INVALID_CURSOR', 'INVALID_TIME_RANGE'],
  },
  GetTripTimeline: {
    summary: "Staff: a trip's append-only event log and its sagas' steps",
    input: TripIdInput,
    output: TripTimeline,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'STAFF_ONLY', 'TRIP_NOT_FOUND'],
  },
  GetReceipt: {
    summary: "A finished trip's receipt: every line, the package cap, fees, VAT and the deposit released",
    input: TripIdInput,
    output: Receipt,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'TRIP_NOT_FOUND', 'TRIP_NOT_FINISHED'],
  },
  GetReceiptPdf: {
    summary: "A finished trip's receipt as a PDF (base64): the same lines as GetReceipt",
    input: TripIdInput,
    output: Type.Object({ contentBase64: Type.String(), fileName: Type.String() }),
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'TRIP_NOT_FOUND', 'TRIP_NOT_FINISHED'],
  },
  GetZones: {
    summary: 'The operating areas as a GeoJSON FeatureCollection: home zones, drop-off zones (with their fee), no-parking zones',
    input: Type.Object({}, strict),
    output: ZoneCollection,
    idempotent: true,
    errors: [],
  },
  PreviewPrice: {
    summary: "What a trip of the planned minutes and km would cost with the current tariff of a car category (package cap included); fees known only at the end are not in it",
    input: Type.Object({ category: CarCategory, minutes: Type.Integer(previewBounds.minutes), km: Type.Number(previewBounds.km) }, strict),
    output: PricePreview,
    idempotent: true,
    errors: [],
  },
  ...deadLetterRpcMethods,
});
