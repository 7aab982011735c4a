import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import type { Caller } from './call-context.ts';
import { AppError } from './errors.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { registerRpcService } from './rpc-server.ts';
import {
  laptopServiceKeys,
  newServiceKeyPair,
  serviceIdentityHeader,
  ServiceIdentitySigner,
  ServiceIdentityVerifier,
  serviceKeysFromSettings,
} from './rpc-service-identity.ts';

const rider: Caller = { userId: '0190f000-0000-7000-8000-000000000001', role: 'rider', plan: 'free', sessionId: '0190f000-0000-7000-8000-0000000000a1', token: 'never-travels' };

function refusedWith(code: string, reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.reason, reason);
    return true;
  };
}

describe('service identity: signer and verifier', () => {
  it('is short, names both services and the end user, and never carries the access token', () => {
    const identity = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('user', rider);
    assert.ok(identity.length < 250, `${identity.length} characters`);
    assert.ok(identity.startsWith(`v1.gateway.user.`));
    assert.ok(identity.includes(rider.userId) && identity.includes(rider.sessionId as string));
    assert.ok(!identity.includes('never-travels'));
  });

  it('signs once per audience and end user until the identity is half spent, then signs anew', () => {
    let now = 1_800_000_000_000;
    const signer = new ServiceIdentitySigner('gateway', laptopServiceKeys(), () => now);
    const first = signer.identityFor('user', rider);
    now += 29_000;
    assert.equal(signer.identityFor('user', rider), first, 'reused while ≥ 30 s are left');
    assert.notEqual(signer.identityFor('car', rider), first, 'another audience, another identity');
    assert.notEqual(signer.identityFor('user', { ...rider, role: 'operator' }), first, 'another role, another identity');
    now += 1_000;
    assert.notEqual(signer.identityFor('user', rider), first, 'renewed 30 s before it expires');
  });

  it('accepts a genuine identity until it expires (plus the clock skew allowance), and keeps the checked answer', () => {
    let now = 1_800_000_000_000;
    const keys = laptopServiceKeys();
    const identity = new ServiceIdentitySigner('gateway', keys, () => now).identityFor('user', rider);
    const verifier = new ServiceIdentityVerifier('user', keys, () => now);
    const verified = verifier.verify(identity);
    assert.equal(verified.service, 'gateway');
    assert.deepEqual({ ...verified.caller }, { userId: rider.userId, role: 'rider', plan: 'free', sessionId: rider.sessionId });
    assert.equal(verifier.verify(identity), verified, 'the second call is a cache hit');
    now += 69_000;
    assert.equal(verifier.verify(identity).service, 'gateway');
    now += 1_000;
    assert.throws(() => verifier.verify(identity), refusedWith('UNAUTHENTICATED', 'SERVICE_IDENTITY_EXPIRED'));
  });

  it('refuses malformed identities and ones no signer of ours makes', () => {
    const keys = laptopServiceKeys();
    const verifier = new ServiceIdentityVerifier('user', keys);
    const genuine = new ServiceIdentitySigner('gateway', keys).identityFor('user', rider);
    const fields = genuine.split('.');
    const farFuture = [...fields.slice(0, 3), String(Math.floor(Date.now() / 1000) + 3600), ...fields.slice(4)].join('.');
    for (const identity of ['x', `v2${genuine.slice(2)}`, `${genuine}.extra`, genuine.replace(/\.[^.]+$/, '.AAAA'), farFuture]) {
      assert.throws(() => verifier.verify(identity), refusedWith('UNAUTHENTICATED', 'SERVICE_IDENTITY_INVALID'), identity);
    }
    assert.throws(() => verifier.verify(undefined), refusedWith('UNAUTHENTICATED', 'SERVICE_IDENTITY_REQUIRED'));
    const badRole = new ServiceIdentitySigner('gateway', keys).identityFor('user', { ...rider, role: 'root' as Caller['role'] });
    assert.throws(() => verifier.verify(badRole), refusedWith('UNAUTHENTICATED', 'SERVICE_IDENTITY_INVALID'));
  });

  it('with configured keys: verifies with the public key only, knows only the services listed, signs only as itself', () => {
    const gateway = newServiceKeyPair();
    const user = newServiceKeyPair();
    const gatewayRing = serviceKeysFromSettings({ service: 'gateway', privateKey: gateway.privateKey, publicKeys: '' });
    const userRing = serviceKeysFromSettings({ service: 'user', privateKey: user.privateKey, publicKeys: `gateway:${gateway.publicKey}` });
    const identity = new ServiceIdentitySigner('gateway', gatewayRing).identityFor('user', rider);
    assert.equal(new ServiceIdentityVerifier('user', userRing).verify(identity).service, 'gateway');
    assert.equal(userRing.laptop, false);
    const laptopMade = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('user', rider);
    assert.throws(() => new ServiceIdentityVerifier('user', userRing).verify(laptopMade), refusedWith('UNAUTHENTICATED', 'SERVICE_IDENTITY_INVALID'), 'laptop keys are not the configured ones');
    const fromCar = new ServiceIdentitySigner('car', laptopServiceKeys()).identityFor('user', rider);
    assert.throws(() => new ServiceIdentityVerifier('user', userRing).verify(fromCar), refusedWith('UNAUTHENTICATED', 'SERVICE_IDENTITY_INVALID'), 'car is not listed');
    assert.throws(() => new ServiceIdentitySigner('car', userRing), /no private key for service car/);
    assert.throws(() => serviceKeysFromSettings({ service: 'user', privateKey: user.privateKey, publicKeys: 'gateway' }), /name:base64url/);
    assert.throws(() => serviceKeysFromSettings({ service: 'user', privateKey: 'short', publicKeys: '' }), /32 bytes/);
  });
});

const whoRpc = defineRpcService('who', {
  WhoAmI: { summary: 'the caller', input: Type.Object({}), output: Type.Object({ userId: Type.Union([Type.String(), Type.Null()]) }), idempotent: true, errors: [] },
});

describe('RPC server over HTTP: end-user tokens stop at the gateway (issue 13, finding 9)', () => {
  const observability = createObservability({ service: 'who', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
  let server: HttpServer;

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'rpc' });
    registerRpcService(server, whoRpc, { WhoAmI: async (_input, ctx) => ({ userId: ctx.caller?.userId ?? null }) }, { observability });
    await server.ready();
  });
  after(() => server.close());

  const call = (headers: Record<string, string>) => server.inject({ method: 'POST', url: '/rpc/who/WhoAmI', headers, payload: {} });

  it('refuses a network peer that holds a user’s access token but no service identity', async () => {
    const response = await call({ authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl' });
    assert.equal(response.statusCode, 401);
    assert.equal(response.json().error.reason, 'SERVICE_IDENTITY_REQUIRED');
  });

  it('takes the end user from the gateway’s signed identity, whatever an Authorization header says', async () => {
    const identity = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('who', rider);
    const response = await call({ [serviceIdentityHeader]: identity, authorization: 'Bearer someone-else' });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { userId: rider.userId });
  });

  it('answers 403 to a genuine service the method does not list', async () => {
    const identity = new ServiceIdentitySigner('car', laptopServiceKeys()).identityFor('who', rider);
    const response = await call({ [serviceIdentityHeader]: identity });
    assert.equal(response.statusCode, 403);
    assert.equal(response.json().error.reason, 'CALLER_NOT_ALLOWED');
  });
});
