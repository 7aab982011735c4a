/**
 * NestJS 11 microservice, TCP transport: `activity.get` answers a rider's active reservation and
 * live trip from memory (our trip service's GetMyActivity for a rider it knows holds nothing),
 * its payload checked by the global ValidationPipe (class-transformer into GetActivityDto,
 * class-validator's IsUUID, unknown properties rejected, as our contracts are strict). The
 * second service of the composed /v1/me, as nest-user-service is the first.
 *
 *   PEER_RPC_PORT=… PEER_RIDER_ID=… node nest-trip-service.mjs
 */
import 'reflect-metadata';
import { Controller, Injectable, Module, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, RpcException, Transport } from '@nestjs/microservices';
import { IsUUID } from 'class-validator';
import { createActivityStore } from './activities.mjs';
import { announceReady, closeWithParent, portFromEnv, requiredEnv } from './child.mjs';
import { decorateClass, decorateMethod, decorateProperty } from './decorate.mjs';

const port = portFromEnv('PEER_RPC_PORT');
const riderId = requiredEnv('PEER_RIDER_ID');

class GetActivityDto {
  riderId;
}
decorateProperty(GetActivityDto, 'riderId', [IsUUID()], String);

let ActivityStore = class ActivityStore {
  activities = createActivityStore(riderId);
};
ActivityStore = decorateClass(ActivityStore, [Injectable()]);

let TripsController = class TripsController {
  constructor(store) {
    this.store = store;
  }

  getActivity(input) {
    return this.store.activities.get(input.riderId);
  }
};
decorateMethod(TripsController, 'getActivity', { decorators: [MessagePattern('activity.get')], parameters: [[0, Payload()]], paramTypes: [GetActivityDto] });
TripsController = decorateClass(TripsController, [Controller()], [ActivityStore]);

let TripsModule = class TripsModule {};
TripsModule = decorateClass(TripsModule, [Module({ controllers: [TripsController], providers: [ActivityStore] })]);

const app = await NestFactory.createMicroservice(TripsModule, {
  transport: Transport.TCP,
  options: { host: '127.0.0.1', port },
  logger: false,
});
app.useGlobalPipes(
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    exceptionFactory: (errors) => new RpcException({ code: 'INVALID_INPUT', message: 'invalid input', details: errors.map((error) => error.property) }),
  }),
);
await app.listen();
closeWithParent(() => app.close());
announceReady({ port });
