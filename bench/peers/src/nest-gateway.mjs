/**
 * NestJS 11 HTTP gateway on Fastify (@nestjs/platform-fastify) in front of nest-user-service:
 * `GET /v1/me` passes a bearer guard (a signed token, verified once and cached, see bearer.mjs),
 * asks the user microservice over Nest's TCP transport (ClientsModule, JSON over one socket)
 * with a 2 s deadline, and answers in our /v1/me shape.
 *
 * With PEER_TRIP_RPC_PORT it composes /v1/me as ours does (DOMAIN: the account plus the active
 * reservation and trip): the user call and nest-trip-service's `activity.get` side by side, each
 * with its own 2 s deadline, a part that fails named in `partial` (ours: gatherParts).
 *
 *   PEER_HTTP_PORT=… PEER_RPC_PORT=… [PEER_TRIP_RPC_PORT=…] PEER_JWT_SECRET=… node nest-gateway.mjs
 */
import 'reflect-metadata';
import process from 'node:process';
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
const tripRpcPort = process.env.PEER_TRIP_RPC_PORT ? portFromEnv('PEER_TRIP_RPC_PORT') : undefined;
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
  constructor(users, trips) {
    this.users = users;
    this.trips = trips;
  }

  async me(request) {
    const userId = request.caller.userId;
    const user = firstValueFrom(this.users.send('user.get', { userId }).pipe(timeout(2_000)));
    if (!this.trips) return { user: await user, partial: [], stale: [] };
    const activity = firstValueFrom(this.trips.send('activity.get', { riderId: userId }).pipe(timeout(2_000)));
    const [userPart, activityPart] = await Promise.allSettled([user, activity]);
    if (userPart.status === 'rejected' && activityPart.status === 'rejected') throw userPart.reason;
    const partial = [];
    if (userPart.status === 'rejected') partial.push('user');
    if (activityPart.status === 'rejected') partial.push('reservation', 'trip');
    const found = activityPart.status === 'fulfilled' ? activityPart.value : undefined;
    return { user: userPart.status === 'fulfilled' ? userPart.value : null, reservation: found?.reservation ?? null, trip: found?.trip ?? null, partial, stale: [] };
  }
};
decorateMethod(MeController, 'me', { decorators: [Get('v1/me'), UseGuards(BearerGuard)], parameters: [[0, Req()]], paramTypes: [Object] });
decorateConstructorParameter(MeController, 0, Inject('USERS'));
decorateConstructorParameter(MeController, 1, Inject('TRIPS'));
MeController = decorateClass(MeController, [Controller()], [Object, Object]);

const clients = [{ name: 'USERS', transport: Transport.TCP, options: { host: '127.0.0.1', port: rpcPort } }];
if (tripRpcPort !== undefined) clients.push({ name: 'TRIPS', transport: Transport.TCP, options: { host: '127.0.0.1', port: tripRpcPort } });

let GatewayModule = class GatewayModule {};
GatewayModule = decorateClass(GatewayModule, [
  Module({
    imports: [ClientsModule.register(clients)],
    controllers: [MeController],
    // Without the trip service, TRIPS is null and /v1/me makes the one call it used to.
    providers: [BearerGuard, ...(tripRpcPort === undefined ? [{ provide: 'TRIPS', useValue: null }] : [])],
  }),
]);

const app = await NestFactory.create(GatewayModule, new FastifyAdapter(), { logger: false });
await app.listen(httpPort, '127.0.0.1');
closeWithParent(() => app.close());
announceReady({ url: `http://127.0.0.1:${httpPort}` });
