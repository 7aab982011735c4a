import { Type } from 'typebox';
import { NullableObject } from '../nullable.ts';
import { User } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

/** Each part of /v1/me comes from a different service; one that is down is named in `partial`. */
export const MeResponse = Type.Object({
  user: NullableObject(User),
  partial: Type.Array(Type.String(), { description: 'Parts that could not be loaded right now (they are null)' }),
  stale: Type.Array(Type.String(), { description: 'Parts shown from the last good answer because their service is down' }),
});

export const meRoutes = {
  me: defineHttpRoute({
    method: 'GET',
    url: '/v1/me',
    summary: 'Who am I: my account (later also profile, reservation and trip)',
    tags: ['me'],
    access: 'user',
    successStatus: 200,
    response: MeResponse,
  }),
} as const;
