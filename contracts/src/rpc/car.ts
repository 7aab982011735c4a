import { Type, type Static } from 'typebox';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { defineRpcService } from './define-rpc-service.ts';

const strict = { additionalProperties: false } as const;

export const CarId = Type.String({ format: 'uuid' });
export const ReservationId = Type.String({ format: 'uuid', description: 'the reservation (or trip) that holds the car' });
export const CarState = Type.Union([
  Type.Literal('available'),
  Type.Literal('reserved'),
  Type.Literal('unlocking'),
  Type.Literal('in_use'),
  Type.Literal('locking'),
  Type.Literal('maintenance'),
  Type.Literal('offline'),
]);
export type CarState = Static<typeof CarState>;
export const CarCategory = Type.Union([Type.Literal('small'), Type.Literal('compact'), Type.Literal('premium'), Type.Literal('van')]);
export type CarCategory = Static<typeof CarCategory>;
export const FuelType = Type.Union([Type.Literal('electric'), Type.Literal('petrol'), Type.Literal('diesel'), Type.Literal('hybrid')]);
export type FuelType = Static<typeof FuelType>;

export const Plate = Type.String({ minLength: 1, maxLength: 16, pattern: '^[A-Z0-9][A-Z0-9 -]*$', description: 'upper case, as on the plate' });
export const Vin = Type.String({ pattern: '^[A-HJ-NPR-Z0-9]{17}$', description: 'ISO 3779: 17 characters, no I, O or Q' });
export const TrackerId = Type.String({ minLength: 1, maxLength: 64, description: "the uniqueId of the car's device in a Traccar server" });
export const Latitude = Type.Number({ minimum: -90, maximum: 90 });
export const Longitude = Type.Number({ minimum: -180, maximum: 180 });
const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);

/** A car as operators and other services see it. Never carries the device secret or its hash. */
export const Car = Type.Object({
  id: CarId,
  plate: Type.String(),
  vin: Type.String(),
  model: Type.String(),
  category: CarCategory,
  seats: Type.Integer(),
  fuelType: FuelType,
  homeZone: Nullable(Type.String()),
  trackerId: Nullable(Type.String()),
  state: CarState,
  reservationId: Nullable(Type.String({ format: 'uuid' })),
  position: Type.Union([Type.Object({ lat: Type.Number(), lng: Type.Number() }), Type.Null()]),
  speedKph: Type.Number(),
  headingDeg: Type.Number(),
  energyPct: Type.Number(),
  odometerKm: Type.Number(),
  locked: Type.Boolean(),
  lastSeenAt: Nullable(Type.String({ format: 'date-time' })),
  version: Type.Integer({ description: 'changes on every write: optimistic concurrency for UpdateCar' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Car = Static<typeof Car>;

export const CarWithSecret = Type.Object({
  car: Car,
  deviceSecret: Type.String({ description: 'the MQTT password of the car device: shown once, stored only hashed' }),
});

export const CarListSort = Type.Union([Type.Literal('newest'), Type.Literal('oldest'), Type.Literal('energy_asc'), Type.Literal('plate')]);

export const CarListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    state: Type.Optional(CarState),
    category: Type.Optional(CarCategory),
    lowBatteryBelowPct: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'only cars below this energy level' })),
    offline: Type.Optional(Type.Boolean({ description: 'true: only offline cars; false: only cars that are not' })),
    plate: Type.Optional(
      // Longer than a plate: extra spaces are allowed, they are dropped before comparing.
      Type.String({ minLength: 1, maxLength: 32, description: 'only the car with this plate, compared as plates are stored (upper case, single spaces)' }),
    ),
    sort: Type.Optional(CarListSort),
  },
  strict,
);

export const CarPage = Type.Object({ items: Type.Array(Car), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const NearbyCar = Type.Object({
  id: CarId,
  plate: Type.String(),
  model: Type.String(),
  category: CarCategory,
  seats: Type.Integer(),
  fuelType: FuelType,
  position: Type.Object({ lat: Type.Number(), lng: Type.Number() }),
  energyPct: Type.Number(),
  distanceM: Type.Number(),
});

/** What the open-data feed (GBFS) shows of an available car. `version` changes with every rental, so a feed can rotate its vehicle ids. */
export const AvailableCar = Type.Object({
  id: CarId,
  category: CarCategory,
  fuelType: FuelType,
  seats: Type.Integer(),
  position: Type.Object({ lat: Type.Number(), lng: Type.Number() }),
  energyPct: Type.Number(),
  lastSeenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  version: Type.Integer(),
});

export const NearbyQuery = Type.Object(
  {
    lat: Latitude,
    lng: Longitude,
    radiusM: Type.Integer({ minimum: 1, maximum: 50_000, default: 2_000 }),
    category: Type.Optional(CarCategory),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  strict,
);

export const TelemetryPoint = Type.Object({
  ts: Type.String({ format: 'date-time' }),
  lat: Type.Number(),
  lng: Type.Number(),
  speedKph: Type.Number(),
  odometerKm: Type.Number(),
  energyPct: Type.Number(),
});

const CarEdit = {
  plate: Plate,
  vin: Vin,
  model: Type.String({ minLength: 1, maxLength: 80 }),
  category: CarCategory,
  seats: Type.Integer({ minimum: 1, maximum: 9 }),
  fuelType: FuelType,
};

const claimInput = Type.Object({ carId: CarId, reservationId: ReservationId }, strict);
const carIdInput = Type.Object({ carId: CarId }, strict);

/** A car's hold, its lock and its route belong to the trip service's flows: no rider asks for them directly. */
const tripOnly = ['trip'] as const;

/** The car service's RPC contract: what callers may ask of it, and how it may fail. */
export const carRpc = defineRpcService('car', {
  CreateCar: {
    summary: 'Register a car (operators); answers its device secret, once',
    input: Type.Object(
      {
        ...CarEdit,
        homeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        trackerId: Type.Optional(TrackerId),
        position: Type.Optional(Type.Object({ lat: Latitude, lng: Longitude }, strict)),
      },
      strict,
    ),
    output: CarWithSecret,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'OPERATOR_ONLY', 'PLATE_TAKEN', 'VIN_TAKEN', 'TRACKER_TAKEN'],
  },
  UpdateCar: {
    summary: "Change a car's description (operators); expectedVersion guards against lost updates",
    input: Type.Object(
      {
        carId: CarId,
        expectedVersion: Type.Optional(Type.Integer({ minimum: 0 })),
        plate: Type.Optional(Plate),
        model: Type.Optional(CarEdit.model),
        category: Type.Optional(CarCategory),
        seats: Type.Optional(CarEdit.seats),
        homeZone: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
        trackerId: Type.Optional(Type.Union([TrackerId, Type.Null()])),
      },
      strict,
    ),
    output: Car,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'OPERATOR_ONLY', 'CAR_NOT_FOUND', 'VERSION_MISMATCH', 'PLATE_TAKEN', 'TRACKER_TAKEN'],
  },
  SetMaintenance: {
    summary: 'Take an idle car into maintenance, or back (operators)',
    input: Type.Object({ carId: CarId, on: Type.Boolean() }, strict),
    output: Car,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'OPERATOR_ONLY', 'CAR_NOT_FOUND', 'INVALID_CAR_TRANSITION'],
  },
  RotateDeviceSecret: {
    summary: "Issue a new device secret (operators); the old one stops working at once",
    input: carIdInput,
    output: CarWithSecret,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'OPERATOR_ONLY', 'CAR_NOT_FOUND'],
  },
  DeleteCar: {
    summary: 'Remove an idle car (operators)',
    input: carIdInput,
    output: Type.Object({}),
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'OPERATOR_ONLY', 'CAR_NOT_FOUND', 'CAR_NOT_IDLE'],
  },
  GetCar: {
    summary: 'One car',
    input: carIdInput,
    output: Car,
    callers: ['gateway', 'trip'],
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'CAR_NOT_FOUND'],
  },
  ListCars: {
    summary: 'Page through cars (operators) with filters and a sort',
    input: CarListQuery,
    output: CarPage,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'OPERATOR_ONLY', 'INVALID_CURSOR'],
  },
  Claim: {
    summary: 'Hold an available car for a reservation: of concurrent claims exactly one wins; repeating the winning claim answers the car again',
    input: claimInput,
    output: Car,
    callers: tripOnly,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'CAR_NOT_FOUND', 'CAR_NOT_AVAILABLE'],
  },
  Release: {
    summary: 'Give a reserved car back (hold expired, cancelled, or a failed trip start); releasing a car no longer held answers it as it is',
    input: claimInput,
    output: Car,
    callers: tripOnly,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'CAR_NOT_FOUND', 'NOT_YOUR_CAR', 'INVALID_CAR_TRANSITION'],
  },
  Unlock: {
    summary: 'Send unlock to the device and answer when it acknowledges; DEADLINE_EXCEEDED after the command deadline, the car back to reserved',
    input: claimInput,
    output: Car,
    callers: tripOnly,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'CAR_NOT_FOUND', 'NOT_YOUR_CAR', 'INVALID_CAR_TRANSITION', 'DEVICE_REFUSED', 'DEVICE_DID_NOT_ANSWER'],
  },
  Lock: {
    summary: 'Send lock to the device (end of use) and answer when it acknowledges; the car is then available',
    input: claimInput,
    output: Car,
    callers: tripOnly,
    idempotent: false,
    errors: ['AUTHENTICATION_REQUIRED', 'CAR_NOT_FOUND', 'NOT_YOUR_CAR', 'INVALID_CAR_TRANSITION', 'DEVICE_REFUSED', 'DEVICE_DID_NOT_ANSWER'],
  },
  Nearby: {
    summary: 'Available cars within a radius, nearest first',
    input: NearbyQuery,
    output: Type.Object({ items: Type.Array(NearbyCar) }),
    idempotent: true,
    errors: [],
  },
  AvailableCars: {
    summary: 'Every available car with a position, a page at a time (the open-data feed: no rider data)',
    input: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }), cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) }, strict),
    output: Type.Object({ items: Type.Array(AvailableCar), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
    idempotent: true,
    errors: ['INVALID_CURSOR'],
  },
  TelemetrySince: {
    summary: "A car's accepted telemetry points since a time, oldest first (trip distance)",
    input: Type.Object(
      {
        carId: CarId,
        since: Type.String({ format: 'date-time' }),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
      },
      strict,
    ),
    output: Type.Object({ items: Type.Array(TelemetryPoint), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
    callers: tripOnly,
    idempotent: true,
    errors: ['AUTHENTICATION_REQUIRED', 'CAR_NOT_FOUND', 'INVALID_CURSOR'],
  },
  IngestTelemetry: {
    summary: 'A telemetry report from a device without MQTT; the device credential is checked here',
    input: Type.Object({ carId: Type.String({ minLength: 1, maxLength: 64 }), secret: Type.String({ minLength: 1, maxLength: 200 }), report: Type.Unknown() }, strict),
    output: Type.Object({ accepted: Type.Literal(true) }),
    idempotent: true,
    errors: ['DEVICE_UNAUTHENTICATED', 'TELEMETRY_REJECTED', 'TELEMETRY_RATE_LIMITED'],
  },
  IngestTraccarPosition: {
    summary: "A position forwarded by a Traccar server (forward.type json): mapped to a car by the device's uniqueId",
    input: Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }), forwarded: Type.Unknown() }, strict),
    output: Type.Object({ accepted: Type.Literal(true) }),
    idempotent: true,
    errors: ['DEVICE_UNAUTHENTICATED', 'UNKNOWN_TRACKER', 'TELEMETRY_REJECTED', 'TELEMETRY_RATE_LIMITED'],
  },
  ...deadLetterRpcMethods,
});
