import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import { assertError } from './support/error-shape.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

/** Unique per run, so these users never meet another file's. */
const run = randomBytes(4).toString('hex');
const password = 'correct horse battery';

describe('Idempotency-Key on the embedded platform', () => {
  let t: TestPlatform;
  let operator: string;

  before(async () => {
    t = await startTestPlatform();
    await seedDemoData(t.platform.module(userDescriptor).users);
    const login = await t.api.call('POST', '/v1/auth/login', { body: { email: demoAccounts.operator.email, password: demoAccounts.operator.password } });
    assert.equal(login.status, 200, login.text);
    operator = login.body.tokens.accessToken;
  });
  after(() => t?.close());

  it('creates one account from concurrent sign-ups with one key; every other answer is that account or "in flight"', async () => {
    const key = randomUUID();
    const body = { email: `once-${run}@example.com`, password, displayName: `Once ${run}` };
    const answers = await Promise.all(Array.from({ length: 6 }, () => t.api.call('POST', '/v1/auth/register', { body, headers: { 'idempotency-key': key } })));
    const accepted = answers.filter((answer) => answer.status === 202);
    assert.ok(accepted.length >= 1, answers.map((answer) => answer.text).join('\n'));
    for (const answer of answers) {
      if (answer.status === 409) assertError(answer, 409, 'IDEMPOTENCY_KEY_IN_USE');
      else assert.equal(answer.text, accepted[0]?.text, `${answer.status}: ${answer.text}`);
    }
    // Registration answers alike for a new and a taken address, so the answer cannot show a second
    // run: the replay header can. Exactly one answer is not a replay.
    const ran = accepted.filter((answer) => answer.headers.get('idempotency-replayed') !== 'true');
    assert.equal(ran.length, 1, 'the sign-up ran once; every other 202 is the stored answer');
    const replay = await t.api.call('POST', '/v1/auth/register', { body, headers: { 'idempotency-key': key } });
    assert.equal(replay.status, 202);
    assert.equal(replay.headers.get('idempotency-replayed'), 'true');
    assert.equal(replay.text, accepted[0]?.text);
    const page = await t.api.call('GET', '/v1/admin/users', { token: operator, query: { search: `once-${run}` } });
    assert.equal(page.status, 200, page.text);
    assert.equal(page.body.items.length, 1, 'one account');
  });

  it('refuses the key for another sign-up with 422, and a malformed key with 400', async () => {
    const key = randomUUID();
    const first = await t.api.call('POST', '/v1/auth/register', { body: { email: `first-${run}@example.com`, password, displayName: 'First' }, headers: { 'idempotency-key': key } });
    assert.equal(first.status, 202, first.text);
    const other = await t.api.call('POST', '/v1/auth/register', { body: { email: `other-${run}@example.com`, password, displayName: 'Other' }, headers: { 'idempotency-key': key } });
    assertError(other, 422, 'IDEMPOTENCY_KEY_REUSED');
    const malformed = await t.api.call('POST', '/v1/auth/register', { body: { email: `bad-${run}@example.com`, password, displayName: 'Bad' }, headers: { 'idempotency-key': 'two words' } });
    assertError(malformed, 400, 'IDEMPOTENCY_KEY_MALFORMED');
  });
});
