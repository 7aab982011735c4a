import { Type } from 'typebox';
import { NullableObject } from '../nullable.ts';
import { Reservation, Trip } from '../rpc/trip.ts';
import { User } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

/** Each part of /v1/me comes from a different service; one that is down is named in `partial`. */
export const MeResponse = Type.Object({
  user: NullableObject(User),
  /** My active reservation; null when there is none, or when `partial` names it. */
  reservation: NullableObject(Reservation),
  /** My live trip (starting, in progress, paused, finishing); null when there is none, or when `partial` names it. */
  trip: NullableObject(Trip),
  partial: Type.Array(Type.String(), { description: 'Parts that could not be loaded right now (they are null)' }),
  stale: Type.Array(Type.String(), { description: 'Parts shown from the last good answer because their service is down' }),
});

export const meRoutes = {
  me: defineHttpRoute({
    method: 'GET',
    url: '/v1/me',
    summary: 'Who am I: my account, my active reservation and my live trip (a part whose service is down is null and named in `partial`)',
    tags: ['me'],
    access: 'user',
    successStatus: 200,
    response: MeResponse,
  }),
} as const;
