import { Type } from 'typebox';
import { Car, CarId, CarListQuery, CarPage, CarWithSecret, carRpc } from '../rpc/car.ts';
import { defineHttpRoute } from './define-http-route.ts';

const strict = { additionalProperties: false } as const;
const CarParams = Type.Object({ id: CarId }, strict);
const { carId: _carId, ...updatable } = carRpc.methods.UpdateCar.input.properties;

export const adminCarRoutes = {
  list: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/cars',
    summary: 'Page through the fleet: filter by state, category, low battery, offline, plate; sort',
    tags: ['admin'],
    access: 'operator',
    querystring: CarListQuery,
    successStatus: 200,
    response: CarPage,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/cars/:id',
    summary: 'One car with everything operators see',
    tags: ['admin'],
    access: 'operator',
    params: CarParams,
    successStatus: 200,
    response: Car,
  }),
  create: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/cars',
    summary: "Register a car; the answer carries its device secret (the device's MQTT password), shown only this once",
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'optional',
    body: carRpc.methods.CreateCar.input,
    successStatus: 201,
    response: CarWithSecret,
  }),
  update: defineHttpRoute({
    method: 'PATCH',
    url: '/v1/admin/cars/:id',
    summary: "Change a car's description; send expectedVersion to refuse a change based on an old read (409)",
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'optional',
    params: CarParams,
    body: Type.Object(updatable, strict),
    successStatus: 200,
    response: Car,
  }),
  maintenance: defineHttpRoute({
    method: 'PUT',
    url: '/v1/admin/cars/:id/maintenance',
    summary: 'Take an idle car into maintenance (on: true) or back into service (on: false)',
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'optional',
    params: CarParams,
    body: Type.Object({ on: Type.Boolean() }, strict),
    successStatus: 200,
    response: Car,
  }),
  rotateSecret: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/cars/:id/device-secret',
    summary: 'Issue a new device secret; the old one stops working at once (the device must be given the new one)',
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'optional',
    params: CarParams,
    successStatus: 200,
    response: CarWithSecret,
  }),
  delete: defineHttpRoute({
    method: 'DELETE',
    url: '/v1/admin/cars/:id',
    summary: 'Remove a car that nobody holds (409 otherwise)',
    tags: ['admin'],
    access: 'operator',
    idempotencyKey: 'optional',
    params: CarParams,
    successStatus: 204,
    response: Type.Null(),
  }),
} as const;
