import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import type { EventEnvelope } from '@carshare/contracts';
import { assertError } from './support/error-shape.ts';
import { signUpAndLogIn } from './support/sign-up.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('dead letters an operator can operate', () => {
  let test: TestPlatform;
  let operator: string;
  let rider: string;
  let consumerHealthy = false;
  const handled: EventEnvelope[] = [];

  before(async () => {
    test = await startTestPlatform();
    await seedDemoData(test.platform.module(userDescriptor).users);
    // A consumer of user.registered in the user service's own messaging that fails until fixed.
    await test.platform.module(userDescriptor).messaging.subscribe(
      'e2e.welcome-mail',
      ['user.registered'],
      async (event) => {
        if (!consumerHealthy) throw new Error('mail server refused the connection');
        handled.push(event);
      },
      { maxAttempts: 2, backoff: { initialMs: 5, maxMs: 10 } },
    );
    const login = async (email: string, password: string) =>
      (await test.api.call('POST', '/v1/auth/login', { body: { email, password } })).body.tokens.accessToken as string;
    operator = await login(demoAccounts.operator.email, demoAccounts.operator.password);
    rider = await login(demoAccounts.rider.email, demoAccounts.rider.password);
  });
  after(() => test.close());

  it('lists the event a group gave up on, with error, attempts and trace, filtered by group and topic', async () => {
    const signup = await signUpAndLogIn(test.api, { email: 'dl@example.com', password: 'dead letter pw', displayName: 'DL' });
    const page = await until(async () => {
      const response = await test.api.call('GET', '/v1/admin/dead-letters', { token: operator, query: { group: 'e2e.welcome-mail' } });
      assert.equal(response.status, 200, response.text);
      return response.body.items.some((item: { event: EventEnvelope }) => item.event.subject === signup.user.id) ? response.body : undefined;
    }, 'the dead letter');
    const letter = page.items.find((item: { event: EventEnvelope }) => item.event.subject === signup.user.id);
    assert.equal(page.service, 'user');
    assert.equal(letter.group, 'e2e.welcome-mail');
    assert.equal(letter.attempts, 2);
    assert.equal(letter.event.type, 'user.registered');
    assert.match(letter.error.message, /mail server refused/);
    assert.match(letter.traceparent ?? letter.event.traceparent, /^00-[0-9a-f]{32}-/);
    const byTopic = await test.api.call('GET', '/v1/admin/dead-letters', { token: operator, query: { topic: 'user.suspended' } });
    assert.equal(byTopic.status, 200);
    assert.deepEqual(byTopic.body.items, []);
    const one = await test.api.call('GET', `/v1/admin/dead-letters/${letter.id}`, { token: operator });
    assert.equal(one.status, 200);
    assert.equal(one.body.id, letter.id);
  });

  it('replays a dead letter to its group once the consumer works again, and forgets it', async () => {
    const list = await test.api.call('GET', '/v1/admin/dead-letters', { token: operator, query: { group: 'e2e.welcome-mail' } });
    const letter = list.body.items[0];
    consumerHealthy = true;
    const replay = await test.api.call('POST', `/v1/admin/dead-letters/${letter.id}/replay`, { token: operator });
    assert.equal(replay.status, 200, replay.text);
    await until(async () => (handled.some((event) => event.id === letter.event.id) ? true : undefined), 'the replayed event');
    assertError(await test.api.call('GET', `/v1/admin/dead-letters/${letter.id}`, { token: operator }), 404, 'DEAD_LETTER_NOT_FOUND');
  });

  it('counts dead letters per group in a metric, and deletes one for good', async () => {
    consumerHealthy = false;
    const signup = await signUpAndLogIn(test.api, { email: 'dl2@example.com', password: 'dead letter pw', displayName: 'DL2' });
    const letter = await until(async () => {
      const response = await test.api.call('GET', '/v1/admin/dead-letters', { token: operator });
      return response.body.items.find((item: { event: EventEnvelope }) => item.event.subject === signup.user.id);
    }, 'the second dead letter');
    const waiting = await test.api.call('GET', '/v1/admin/dead-letters', { token: operator, query: { group: 'e2e.welcome-mail', limit: 100 } });
    const metrics = await (await fetch(`${test.platform.urlOf('user')}/metrics`)).text();
    const gauge = /messaging_dead_letter_messages\{[^}]*group="e2e.welcome-mail"[^}]*\} (\d+)/.exec(metrics);
    assert.ok(gauge, 'no dead-letter gauge for the group');
    assert.ok(waiting.body.items.length >= 1);
    assert.equal(Number(gauge[1]), waiting.body.items.length);
    const deleted = await test.api.call('DELETE', `/v1/admin/dead-letters/${letter.id}`, { token: operator });
    assert.equal(deleted.status, 204, deleted.text);
    assertError(await test.api.call('DELETE', `/v1/admin/dead-letters/${letter.id}`, { token: operator }), 404, 'DEAD_LETTER_NOT_FOUND');
  });

  it('keeps dead letters from riders', async () => {
    assertError(await test.api.call('GET', '/v1/admin/dead-letters', { token: rider }), 403, 'OPERATOR_ONLY');
    assertError(await test.api.call('POST', '/v1/admin/dead-letters/01a20fbd-8ec3-7089-8fb8-149442882d00/replay', { token: rider }), 403, 'OPERATOR_ONLY');
    assertError(await test.api.call('GET', '/v1/admin/dead-letters', { token: operator, query: { service: 'nope' } }), 400, 'VALIDATION_FAILED');
  });
});
