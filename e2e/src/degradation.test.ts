import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { serviceRegistry } from '@carshare/cli';
import { gatewayDescriptor } from '@carshare/gateway-service';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import { assertError } from './support/error-shape.ts';
import { signUpAndLogIn } from './support/sign-up.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

async function breakerState(test: TestPlatform): Promise<number> {
  // On the gateway's operations listener: the public port serves no metrics (ADR 0023).
  const metrics = await (await fetch(`${test.platform.module(gatewayDescriptor).opsUrl()}/metrics`)).text();
  const match = /carshare_breaker_state\{[^}]*downstream="user"[^}]*\} (\d)/.exec(metrics);
  assert.ok(match, 'no breaker state metric for user');
  return Number(match[1]);
}

describe('graceful degradation and fault switches', () => {
  let test: TestPlatform;
  let operator: string;
  let operatorId: string;
  let rider: string;
  let newcomer: string;

  before(async () => {
    test = await startTestPlatform({
      overrides: { gateway: { 'resilience.user': { breaker: { cooldownMs: 300, minimumCalls: 4, windowSize: 8 } }, 'rateLimits.enabled': false } },
    });
    await seedDemoData(test.platform.module(userDescriptor).users);
    const login = async (email: string, password: string) => (await test.api.call('POST', '/v1/auth/login', { body: { email, password } })).body;
    const op = await login(demoAccounts.operator.email, demoAccounts.operator.password);
    operator = op.tokens.accessToken;
    operatorId = op.user.id;
    rider = (await login(demoAccounts.rider.email, demoAccounts.rider.password)).tokens.accessToken;
    newcomer = (await signUpAndLogIn(test.api, { email: 'new@example.com', password: 'amber kettle 19', displayName: 'New' })).tokens.accessToken;
  });
  after(() => test.close());

  it('lists the fault switches of every downstream service, all off', async () => {
    const faults = await test.api.call('GET', '/v1/admin/faults', { token: operator });
    assert.equal(faults.status, 200, faults.text);
    const names = faults.body.items.map((fault: { name: string }) => fault.name).sort();
    // Each service the gateway calls has its pair of switches (a new service gets them too).
    const downstreams = serviceRegistry.all.filter((descriptor) => descriptor.rpc && !descriptor.edge).map((descriptor) => descriptor.name);
    assert.ok(downstreams.includes('user'));
    assert.deepEqual(names, downstreams.flatMap((name) => [`rpc.error:${name}`, `rpc.latency:${name}`]).sort());
    assert.ok(faults.body.items.every((fault: { percent: number }) => fault.percent === 0));
    assertError(await test.api.call('GET', '/v1/admin/faults', { token: rider }), 403, 'OPERATOR_ONLY');
  });

  it('serves the last good account marked stale while the user service fails, and opens the breaker', async () => {
    const healthy = await test.api.call('GET', '/v1/me', { token: rider });
    assert.equal(healthy.status, 200);
    assert.deepEqual(healthy.body.stale, []);
    assert.deepEqual(healthy.body.partial, []);

    const set = await test.api.call('PUT', '/v1/admin/faults/rpc.error:user', { token: operator, body: { percent: 100 } });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.body.updatedBy, operatorId);

    for (let call = 0; call < 6; call += 1) {
      const degraded = await test.api.call('GET', '/v1/me', { token: rider });
      assert.equal(degraded.status, 200, degraded.text);
      assert.deepEqual(degraded.body.stale, ['user']);
      assert.equal(degraded.body.user.email, demoAccounts.rider.email);
    }
    assert.equal(await breakerState(test), 1, 'the breaker should be open');
    // Nothing to fall back on for somebody never seen: the account is named missing, and what
    // the trip service still answers (a rider mid-trip must see the trip) comes through.
    const unseen = await test.api.call('GET', '/v1/me', { token: newcomer });
    assert.equal(unseen.status, 200, unseen.text);
    assert.equal(unseen.body.user, null);
    assert.deepEqual(unseen.body.partial, ['user']);
    assert.deepEqual({ reservation: unseen.body.reservation, trip: unseen.body.trip }, { reservation: null, trip: null });
  });

  it('records who changed a switch and when', async () => {
    const faults = await test.api.call('GET', '/v1/admin/faults', { token: operator });
    const change = faults.body.recentChanges.at(-1);
    assert.deepEqual({ name: change.name, by: change.by, from: change.old.percent, to: change.new.percent }, { name: 'rpc.error:user', by: operatorId, from: 0, to: 100 });
  });

  it('recovers by itself once the fault is removed', async () => {
    const cleared = await test.api.call('PUT', '/v1/admin/faults/rpc.error:user', { token: operator, body: { percent: 0 } });
    assert.equal(cleared.status, 200);
    const deadline = Date.now() + 5_000;
    let last;
    do {
      last = await test.api.call('GET', '/v1/me', { token: newcomer });
      if (last.status === 200 && last.body.user !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < deadline);
    assert.equal(last.status, 200, `not recovered: ${last.text}`);
    assert.notEqual(last.body.user, null, `not recovered: ${last.text}`);
    assert.deepEqual(last.body.stale, []);
    assert.deepEqual(last.body.partial, []);
    assert.equal(await breakerState(test), 0);
  });

  it('rejects unknown switches and out-of-range percentages', async () => {
    assertError(await test.api.call('PUT', '/v1/admin/faults/rpc.error:nothing', { token: operator, body: { percent: 5 } }), 404, 'FAULT_NOT_FOUND');
    assertError(await test.api.call('PUT', '/v1/admin/faults/rpc.error:user', { token: operator, body: { percent: 101 } }), 400, 'VALIDATION_FAILED');
  });
});
