import type { carRpc } from '@carshare/contracts';
import type { CallContext, RpcHandlers } from '@carshare/platform';
import type { CarService, NearbyResult, Origin } from '../car-service.ts';
import type { DeviceIngress } from '../device-ingress.ts';
import type { Car } from '../domain/car.ts';
import type { TelemetryPoint } from '../domain/telemetry.ts';

const iso = (epochMs: number) => new Date(epochMs).toISOString();

export function toWireCar(car: Car) {
  return {
    id: car.id,
    plate: car.plate,
    vin: car.vin,
    model: car.model,
    category: car.category,
    seats: car.seats,
    fuelType: car.fuelType,
    homeZone: car.homeZone,
    trackerId: car.trackerId,
    state: car.state,
    reservationId: car.reservationId,
    position: car.position,
    speedKph: car.speedKph,
    headingDeg: car.headingDeg,
    energyPct: car.energyPct,
    odometerKm: car.odometerKm,
    locked: car.locked,
    lastSeenAt: car.lastSeenAt === null ? null : iso(car.lastSeenAt),
    version: car.version,
    createdAt: iso(car.createdAt),
    updatedAt: iso(car.updatedAt),
  };
}

function toWireNearby({ entry, distanceM }: NearbyResult) {
  return {
    id: entry.id,
    plate: entry.plate,
    model: entry.model,
    category: entry.category,
    seats: entry.seats,
    fuelType: entry.fuelType,
    position: entry.position,
    energyPct: entry.energyPct,
    distanceM: Math.round(distanceM),
  };
}

function toWirePoint(point: TelemetryPoint) {
  return { ts: iso(point.ts), lat: point.lat, lng: point.lng, speedKph: point.speedKph, odometerKm: point.odometerKm, energyPct: point.energyPct };
}

type CarMethods = Omit<typeof carRpc.methods, 'ListDeadLetters' | 'GetDeadLetter' | 'ReplayDeadLetter' | 'DeleteDeadLetter'>;

export function carRpcHandlers(cars: CarService, devices: DeviceIngress, originOf: (span: CallContext['span']) => Origin): RpcHandlers<CarMethods> {
  return {
    CreateCar: async (input, ctx) => {
      const { car, deviceSecret } = await cars.createCar(input, ctx.caller, originOf(ctx.span));
      return { car: toWireCar(car), deviceSecret };
    },
    UpdateCar: async (input, ctx) => toWireCar(await cars.updateCar(input, ctx.caller)),
    SetMaintenance: async (input, ctx) => toWireCar(await cars.setMaintenance(input, ctx.caller, originOf(ctx.span))),
    RotateDeviceSecret: async (input, ctx) => {
      const { car, deviceSecret } = await cars.rotateDeviceSecret(input, ctx.caller);
      return { car: toWireCar(car), deviceSecret };
    },
    DeleteCar: (input, ctx) => cars.deleteCar(input, ctx.caller),
    GetCar: async (input, ctx) => toWireCar(await cars.getCar(input, ctx.caller)),
    ListCars: async (input, ctx) => {
      const page = await cars.listCars(input, ctx.caller);
      return { items: page.items.map(toWireCar), nextCursor: page.nextCursor };
    },
    Claim: async (input, ctx) => toWireCar(await cars.claim(input, ctx.caller, originOf(ctx.span))),
    Release: async (input, ctx) => toWireCar(await cars.release(input, ctx.caller, originOf(ctx.span))),
    Unlock: async (input, ctx) => toWireCar(await cars.unlock(input, ctx.caller, originOf(ctx.span))),
    Lock: async (input, ctx) => toWireCar(await cars.lock(input, ctx.caller, originOf(ctx.span))),
    Nearby: async (input, ctx) => {
      const found = cars.nearby(input);
      await cars.searched(ctx.caller, input.category, found.length, originOf(ctx.span));
      return { items: found.map(toWireNearby) };
    },
    AvailableCars: async (input) => {
      const page = await cars.availableCars(input);
      return {
        items: page.items.map((car) => ({
          id: car.id,
          category: car.category,
          fuelType: car.fuelType,
          seats: car.seats,
          position: car.position ?? { lat: 0, lng: 0 },
          energyPct: car.energyPct,
          lastSeenAt: car.lastSeenAt === null ? null : iso(car.lastSeenAt),
          version: car.version,
        })),
        nextCursor: page.nextCursor,
      };
    },
    TelemetrySince: async (input, ctx) => {
      const page = await cars.telemetrySince(input, ctx.caller);
      return { items: page.items.map(toWirePoint), nextCursor: page.nextCursor };
    },
    IngestTelemetry: (input) => devices.ingestHttp(input),
    IngestTraccarPosition: (input) => devices.ingestTraccar(input),
  };
}
