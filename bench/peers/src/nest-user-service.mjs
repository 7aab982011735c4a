/**
 * NestJS 11 microservice, TCP transport: `user.get` answers an account from memory, its payload
 * checked by the global ValidationPipe (class-transformer into GetUserDto, class-validator's
 * IsUUID, unknown properties rejected, as our contracts are strict).
 *
 *   PEER_RPC_PORT=… PEER_RIDER_ID=… node nest-user-service.mjs
 */
import 'reflect-metadata';
import { Controller, Injectable, Module, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, RpcException, Transport } from '@nestjs/microservices';
import { IsUUID } from 'class-validator';
import { announceReady, closeWithParent, portFromEnv, requiredEnv } from './child.mjs';
import { decorateClass, decorateMethod, decorateProperty } from './decorate.mjs';
import { createUserStore } from './users.mjs';

const port = portFromEnv('PEER_RPC_PORT');
const riderId = requiredEnv('PEER_RIDER_ID');

class GetUserDto {
  userId;
}
decorateProperty(GetUserDto, 'userId', [IsUUID()], String);

let UserStore = class UserStore {
  users = createUserStore(riderId);
};
UserStore = decorateClass(UserStore, [Injectable()]);

let UsersController = class UsersController {
  constructor(store) {
    this.store = store;
  }

  getUser(input) {
    const user = this.store.users.get(input.userId);
    if (!user) throw new RpcException({ code: 'USER_NOT_FOUND', message: 'no such user' });
    return user;
  }
};
decorateMethod(UsersController, 'getUser', { decorators: [MessagePattern('user.get')], parameters: [[0, Payload()]], paramTypes: [GetUserDto] });
UsersController = decorateClass(UsersController, [Controller()], [UserStore]);

let UsersModule = class UsersModule {};
UsersModule = decorateClass(UsersModule, [Module({ controllers: [UsersController], providers: [UserStore] })]);

const app = await NestFactory.createMicroservice(UsersModule, {
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
