/**
 * NestJS 11 HTTP gateway on Fastify (@nestjs/platform-fastify) in front of nest-user-service:
 * `GET /v1/me` passes a bearer guard (a signed token, verified once and cached, see bearer.mjs),
 * asks the user microservice over Nest's TCP transport (ClientsModule, JSON over one socket)
 * with a 2 s deadline, and answers in our /v1/me shape.
 *
 *   PEER_HTTP_PORT=… PEER_RPC_PORT=… PEER_JWT_SECRET=… node nest-gateway.mjs
 */
import 'reflect-metadata';
import { Controller, Get, Inject, Injectable, Module, Req, UnauthorizedException, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Transport } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { firstValueFrom, timeout } from 'rxjs';
import { createBearerVerifier } from './bearer.mjs';
import { announceReady, closeWithParent, portFromEnv, requiredEnv } from './child.mjs';
import { decorateClass, decorateConstructorParameter, decorateMethod } from './decorate.mjs';

const httpPort = portFromEnv('PEER_HTTP_PORT');
const rpcPort = portFromEnv('PEER_RPC_PORT');
const verifyBearer = createBearerVerifier(requiredEnv('PEER_JWT_SECRET'));

let BearerGuard = class BearerGuard {
  canActivate(context) {
    const request = context.switchToHttp().getRequest();
    const caller = verifyBearer(request.headers.authorization);
    if (!caller) throw new UnauthorizedException('a valid bearer token is required');
    request.caller = caller;
    return true;
  }
};
BearerGuard = decorateClass(BearerGuard, [Injectable()]);

let MeController = class MeController {
  constructor(users) {
    this.users = users;
  }

  async me(request) {
    const user = await firstValueFrom(this.users.send('user.get', { userId: request.caller.userId }).pipe(timeout(2_000)));
    return { user, partial: [], stale: [] };
  }
};
decorateMethod(MeController, 'me', { decorators: [Get('v1/me'), UseGuards(BearerGuard)], parameters: [[0, Req()]], paramTypes: [Object] });
decorateConstructorParameter(MeController, 0, Inject('USERS'));
MeController = decorateClass(MeController, [Controller()], [Object]);

let GatewayModule = class GatewayModule {};
GatewayModule = decorateClass(GatewayModule, [
  Module({
    imports: [ClientsModule.register([{ name: 'USERS', transport: Transport.TCP, options: { host: '127.0.0.1', port: rpcPort } }])],
    controllers: [MeController],
    providers: [BearerGuard],
  }),
]);

const app = await NestFactory.create(GatewayModule, new FastifyAdapter(), { logger: false });
await app.listen(httpPort, '127.0.0.1');
closeWithParent(() => app.close());
announceReady({ url: `http://127.0.0.1:${httpPort}` });
