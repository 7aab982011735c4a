import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { bearerToken } from './headers.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { registerRpcService } from './rpc-server.ts';

describe('bearerToken', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl';

  it('reads the token whatever the case of the scheme (RFC 6750 / RFC 9110 §11.1)', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) assert.equal(bearerToken(`${scheme} ${jwt}`), jwt, scheme);
  });

  it('accepts every b64token character, trailing = included', () => {
    assert.equal(bearerToken('Bearer aZ09-._~+/=='), 'aZ09-._~+/==');
  });

  it('finds no token in other schemes, missing tokens or malformed credentials', () => {
    for (const header of [undefined, ['Bearer a', 'Bearer b'], '', 'Bearer', 'Bearer ', `Basic ${jwt}`, `Token ${jwt}`, jwt, 'Bearer a b', `Bearer  ${jwt}`, 'Bearer a=b', 'Bearer tök', `Bearer ${jwt} `, `Bearer\t${jwt}`]) {
      assert.equal(bearerToken(header), undefined, JSON.stringify(header));
    }
  });
});

const whoRpc = defineRpcService('who', {
  WhoAmI: { summary: 'the caller', input: Type.Object({}), output: Type.Object({ userId: Type.Union([Type.String(), Type.Null()]) }), idempotent: true, errors: [] },
});

describe('RPC server: the forwarded end-user token', () => {
  const observability = createObservability({ service: 'who', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
  let server: HttpServer;

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'rpc' });
    registerRpcService(server, whoRpc, { WhoAmI: async (_input, ctx) => ({ userId: ctx.caller?.userId ?? null }) }, {
      observability,
      authenticate: async (token) => ({ userId: `user-of-${token}`, role: 'rider', plan: 'free', token }),
    });
    await server.ready();
  });
  after(() => server.close());

  async function whoAmI(authorization: string): Promise<unknown> {
    const response = await server.inject({ method: 'POST', url: '/rpc/who/WhoAmI', headers: { authorization }, payload: {} });
    assert.equal(response.statusCode, 200, response.body);
    return response.json();
  }

  it('is read with a case-insensitive scheme, as the gateway reads it', async () => {
    assert.deepEqual(await whoAmI('Bearer abc'), { userId: 'user-of-abc' });
    assert.deepEqual(await whoAmI('bearer abc'), { userId: 'user-of-abc' });
  });

  it('leaves the call anonymous when the header is no bearer credential', async () => {
    assert.deepEqual(await whoAmI('Basic abc'), { userId: null });
  });
});
