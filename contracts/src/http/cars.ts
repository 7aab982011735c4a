import { Type } from 'typebox';
import { CarCategory, CarId, FuelType, NearbyCar, NearbyQuery } from '../rpc/car.ts';
import { PricePreview, previewBounds } from '../rpc/trip.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;

/** A car as a rider sees it: what finding and recognising it needs, nothing internal. */
export const PublicCar = Type.Object({
  id: CarId,
  plate: Type.String(),
  model: Type.String(),
  category: CarCategory,
  seats: Type.Integer(),
  fuelType: FuelType,
  available: Type.Boolean({ description: 'free to reserve right now' }),
  position: Type.Union([Type.Object({ lat: Type.Number(), lng: Type.Number() }), Type.Null()]),
  energyPct: Type.Number({ description: 'battery or fuel level, percent' }),
});

export const NearbyCars = Type.Object({ items: Type.Array(NearbyCar) });

export const DeviceTelemetryAccepted = Type.Object({ accepted: Type.Literal(true) });

export const carRoutes = {
  nearby: defineHttpRoute({
    method: 'GET',
    url: '/v1/cars/nearby',
    summary: 'Available cars within a radius (metres) of a point, nearest first',
    tags: ['cars'],
    access: 'user',
    querystring: NearbyQuery,
    successStatus: 200,
    response: NearbyCars,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/cars/:id',
    summary: 'One car, as riders see it',
    tags: ['cars'],
    access: 'user',
    params: Type.Object({ id: CarId }, strict),
    successStatus: 200,
    response: PublicCar,
  }),
  pricePreview: defineHttpRoute({
    method: 'GET',
    url: '/v1/cars/:id/price-preview',
    summary:
      "What a trip in this car would cost now for the planned minutes (1-1440, default 30) and km (0-1000, default 10): the current tariff of the car's category, package cap included; 404 for an unknown car",
    tags: ['cars'],
    access: 'user',
    params: Type.Object({ id: CarId }, strict),
    querystring: Type.Object({ minutes: Type.Integer({ ...previewBounds.minutes, default: 30 }), km: Type.Number({ ...previewBounds.km, default: 10 }) }, strict),
    successStatus: 200,
    response: PricePreview,
  }),
} as const;

/**
 * Device routes: the caller is a car's device or a Traccar server, not a user, so they carry their
 * own credential (never an access token) and the car service checks it.
 */
export const deviceRoutes = {
  telemetry: defineHttpRoute({
    method: 'POST',
    url: '/v1/devices/telemetry',
    summary:
      'A telemetry report (device protocol v1, the MQTT TelemetryReport) from a device without MQTT; ' +
      'Authorization: Basic base64(carId:deviceSecret). 401 for a wrong credential, 400 with the reason for a rejected report, 429 above the per-car rate',
    tags: ['devices'],
    access: 'public',
    credential: 'device',
    idempotencyKey: 'optional',
    body: Type.Unknown({ description: 'TelemetryReport: { v: 1, ts, lat, lng, speedKph, headingDeg, odometerKm, energyPct, locked }' }),
    successStatus: 202,
    response: DeviceTelemetryAccepted,
  }),
  traccar: defineHttpRoute({
    method: 'POST',
    url: '/v1/devices/traccar',
    summary:
      "A position forwarded by a Traccar server (forward.type json, forward.header 'Authorization: Bearer <token>'): " +
      "the car is the one whose trackerId is the device's uniqueId",
    tags: ['devices'],
    access: 'public',
    credential: 'traccar',
    idempotencyKey: 'optional',
    body: Type.Unknown({ description: "Traccar's { position, device } forward body" }),
    successStatus: 202,
    response: DeviceTelemetryAccepted,
  }),
} as const;
