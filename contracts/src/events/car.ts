import { Type } from 'typebox';
import { CarCategory, CarId, CarState, FuelType } from '../rpc/car.ts';
import { defineEvent } from './envelope.ts';

// Subjects of car events are the car id: a consumer sees one car's events in order.

const NullableUuid = Type.Union([Type.String({ format: 'uuid' }), Type.Null()]);
const CommandType = Type.Union([Type.Literal('lock'), Type.Literal('unlock')]);

export const CarCreated = defineEvent(
  'car.created',
  1,
  Type.Object({ carId: CarId, plate: Type.String(), model: Type.String(), category: CarCategory, fuelType: FuelType, seats: Type.Integer(), state: CarState }),
);

export const CarStateChanged = defineEvent(
  'car.state_changed',
  1,
  Type.Object({
    carId: CarId,
    from: CarState,
    to: CarState,
    reservationId: NullableUuid,
    /** Why, in a word: claim, release, unlock_acked, device_did_not_answer, went_silent, … */
    reason: Type.String({ maxLength: 64 }),
    version: Type.Integer({ minimum: 0 }),
  }),
);

/** At most one per car per throttle interval (config `telemetry.eventIntervalMs`), not one per report. */
export const CarTelemetry = defineEvent(
  'car.telemetry',
  1,
  Type.Object({
    carId: CarId,
    ts: Type.String({ format: 'date-time' }),
    lat: Type.Number(),
    lng: Type.Number(),
    speedKph: Type.Number(),
    headingDeg: Type.Number(),
    energyPct: Type.Number(),
    odometerKm: Type.Number(),
    locked: Type.Boolean(),
    state: CarState,
  }),
);

export const CarCommand = defineEvent(
  'car.command',
  1,
  Type.Object({
    carId: CarId,
    commandId: Type.String({ format: 'uuid' }),
    type: CommandType,
    reservationId: NullableUuid,
    expiresAt: Type.String({ format: 'date-time' }),
  }),
);

export const CarCommandAcked = defineEvent(
  'car.command_acked',
  1,
  Type.Object({
    carId: CarId,
    commandId: Type.String({ format: 'uuid' }),
    type: CommandType,
    ok: Type.Boolean(),
    locked: Type.Boolean(),
    error: Type.Optional(Type.String({ maxLength: 200 })),
  }),
);

/**
 * How long one search session lasts: a rider's searches within this time of the session's first
 * are folded into it (ADR 0026), so a rider searching all day costs one outbox row per interval.
 */
export const searchSessionIntervalMs = 10 * 60_000;

/**
 * A rider began a search session (`GET /v1/cars/nearby`): at most one per rider per
 * `searchSessionIntervalMs` and car service instance, whatever the search rate. What analytics
 * turns into search-to-reservation conversion. Subject: the rider id (not a car: a consumer sees
 * one rider's sessions in order). No position: where a rider stood is not a business figure.
 */
export const CarSearched = defineEvent(
  'car.searched',
  1,
  Type.Object({
    riderId: Type.String({ format: 'uuid' }),
    /** The category the first search asked for, null for any. */
    category: Type.Union([CarCategory, Type.Null()]),
    /** Available cars the first search found (0: demand the fleet did not meet). */
    carsFound: Type.Integer({ minimum: 0 }),
  }),
);

export const carEvents = [CarCreated, CarStateChanged, CarTelemetry, CarCommand, CarCommandAcked, CarSearched] as const;
