import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import { decodeProtectedHeader } from 'jose';
import { assertError, assertErrorShape } from './support/error-shape.ts';
import {
  claimsOf,
  expiredAccessToken,
  foreignKeyToken,
  hmacKeyConfusionToken,
  plausibleClaims,
  unsignedToken,
  withFlippedSignatureBit,
  withTamperedClaims,
} from './support/forged-tokens.ts';
import { signUpAndLogIn, type LoggedIn } from './support/sign-up.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

type Session = LoggedIn;
type WireUser = LoggedIn['user'];

interface UserPage {
  items: WireUser[];
  nextCursor: string | null;
}

/** Unique per run, so searches in this file only see users this file made. */
const run = randomBytes(4).toString('hex');
const password = 'correct horse battery';

describe('public API flows on the embedded platform, every call to the user service over the wire', () => {
  let t: TestPlatform;
  let operator: Session;

  before(async () => {
    // Embedded modules call each other in process by default (ADR 0011); this file keeps every
    // user RPC the API uses on real HTTP, so the wire (headers, JSON, status codes) stays tested.
    t = await startTestPlatform({ rpcTransport: 'http' });
    await seedDemoData(t.platform.module(userDescriptor).users);
    operator = await login(demoAccounts.operator.email, demoAccounts.operator.password);
  });
  after(() => t?.close());

  /** Registration opens no session (ADR 0017): this registers, then logs in for one. */
  async function register(name: string, email = `${name}-${run}@example.com`): Promise<Session> {
    return signUpAndLogIn(t.api, { email, password, displayName: `${name} ${run}` });
  }

  async function login(email: string, secret = password): Promise<Session> {
    const response = await t.api.call<Session>('POST', '/v1/auth/login', { body: { email, password: secret } });
    assert.equal(response.status, 200, response.text);
    return response.body;
  }

  async function listAll(query: Record<string, string | number | undefined>, pageSize: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await t.api.call<UserPage>('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { ...query, limit: pageSize, cursor } });
      assert.equal(response.status, 200, response.text);
      assert.ok(response.body.items.length <= pageSize);
      ids.push(...response.body.items.map((user) => user.id));
      cursor = response.body.nextCursor ?? undefined;
      pages++;
      assert.ok(pages < 100, 'the cursor walk does not end');
    } while (cursor !== undefined);
    return { ids, pages };
  }

  it('an unconfirmed rider may log in but not reserve nor take a free car (403 EMAIL_NOT_VERIFIED) until the address is confirmed', async () => {
    const rider = await register('unconfirmed');
    const token = rider.tokens.accessToken;
    const carId = '0190f000-0000-7000-8000-00000000c0de';
    assertError(await t.api.call('POST', '/v1/reservations', { token, body: { carId } }), 403, 'EMAIL_NOT_VERIFIED');
    assertError(await t.api.call('POST', '/v1/trips', { token, body: { carId }, headers: { 'idempotency-key': `start-${run}` } }), 403, 'EMAIL_NOT_VERIFIED');
    const confirmed = await t.api.call('POST', `/v1/admin/users/${rider.user.id}/confirm-email`, { token: operator.tokens.accessToken });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.body.emailVerified, true);
    // The same token: the rule is read from the account, not from a claim minted before.
    assertError(await t.api.call('POST', '/v1/reservations', { token, body: { carId } }), 409, 'PROFILE_NOT_VERIFIED');
    assertError(await t.api.call('POST', `/v1/admin/users/${rider.user.id}/confirm-email`, { token }), 403, 'OPERATOR_ONLY');
  });

  it('a rider registers, logs in, reads /v1/me, refreshes and logs out', async () => {
    const email = `ada-${run}@example.com`;
    const registered = await register('ada', email);
    assert.deepEqual(
      { ...registered.user, id: 'id', createdAt: 'time' },
      { id: 'id', email, displayName: `ada ${run}`, role: 'rider', plan: 'free', status: 'active', emailVerified: false, createdAt: 'time' },
    );
    assert.ok(!Number.isNaN(Date.parse(registered.user.createdAt)));
    assert.equal(registered.tokens.tokenType, 'Bearer');
    assert.equal(registered.tokens.expiresIn, 900);
    assert.equal(claimsOf(registered.tokens.accessToken)['sub'], registered.user.id);
    assert.equal(claimsOf(registered.tokens.accessToken)['role'], 'rider');
    assert.equal(decodeProtectedHeader(registered.tokens.accessToken).alg, 'EdDSA');

    // Emails are matched case-insensitively.
    const session = await login(email.toUpperCase());
    assert.equal(session.user.id, registered.user.id);
    assert.notEqual(session.tokens.refreshToken, registered.tokens.refreshToken);

    const me = await t.api.call('GET', '/v1/me', { token: session.tokens.accessToken });
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.body.user, registered.user);
    assert.deepEqual(me.body.partial, [], 'every part of the answer loaded');
    assert.equal(me.body.reservation, null, 'no active reservation yet');
    assert.equal(me.body.trip, null, 'no live trip yet');
    assert.ok(!me.text.includes('password'), 'no password material leaves the API');

    const refreshed = await t.api.call<Session>('POST', '/v1/auth/refresh', { body: { refreshToken: session.tokens.refreshToken } });
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.equal(refreshed.body.user.id, registered.user.id);
    assert.notEqual(refreshed.body.tokens.refreshToken, session.tokens.refreshToken);
    const meAgain = await t.api.call('GET', '/v1/me', { token: refreshed.body.tokens.accessToken });
    assert.equal(meAgain.status, 200);

    const logout = await t.api.call('POST', '/v1/auth/logout', { body: { refreshToken: refreshed.body.tokens.refreshToken } });
    assert.equal(logout.status, 204);
    assert.equal(logout.text, '');
    assertError(await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: refreshed.body.tokens.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    // The first login's session is another family: logging out one login leaves the other alone.
    const other = await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: registered.tokens.refreshToken } });
    assert.equal(other.status, 200, other.text);
    // Logging out with a token nobody issued says nothing about it either way.
    assert.equal((await t.api.call('POST', '/v1/auth/logout', { body: { refreshToken: 'never-issued' } })).status, 204);
  });

  it('reusing a rotated refresh token is reported as reuse and ends the whole family', async () => {
    const { tokens } = await register('rotor');
    const first = await t.api.call<Session>('POST', '/v1/auth/refresh', { body: { refreshToken: tokens.refreshToken } });
    assert.equal(first.status, 200, first.text);
    assertError(await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: tokens.refreshToken } }), 401, 'REFRESH_TOKEN_REUSED');
    // The token the legitimate holder got is revoked with the family.
    assertError(await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: first.body.tokens.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    assertError(await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: 'x'.repeat(43) } }), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('registering a taken email, in any letter case, answers exactly like a new one and changes nothing', async () => {
    const email = `twice-${run}@example.com`;
    await register('twice', email);
    const fresh = await t.api.call('POST', '/v1/auth/register', { body: { email: `fresh-${run}@example.com`, password, displayName: 'Fresh' } });
    assert.equal(fresh.status, 202, fresh.text);
    const intruderPassword = 'violet anchor 77';
    for (const taken of [email, email.toUpperCase()]) {
      const again = await t.api.call('POST', '/v1/auth/register', { body: { email: taken, password: intruderPassword, displayName: 'Someone else' } });
      assert.equal(again.status, 202, again.text);
      assert.equal(again.text, fresh.text, 'the answer does not tell a taken address from a free one');
    }
    // The account is not replaced: only its own password opens it, and there is still one of it.
    assertError(await t.api.call('POST', '/v1/auth/login', { body: { email, password: intruderPassword } }), 401, 'INVALID_CREDENTIALS');
    assert.equal((await login(email)).user.displayName, `twice ${run}`);
    const listed = await t.api.call<UserPage>('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { search: `twice-${run}`, limit: 100 } });
    assert.deepEqual(listed.body.items.map((user) => user.email), [email]);
  });

  it('lets a browser app on an allowed origin read the headers that say wait or replayed', async () => {
    const response = await t.api.call('GET', '/v1/me', { headers: { origin: 'http://localhost:5173' } });
    assert.equal(response.headers.get('access-control-allow-origin'), 'http://localhost:5173');
    const exposed = (response.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const header of ['retry-after', 'ratelimit-remaining', 'idempotency-replayed']) assert.ok(exposed.includes(header), `${header} in ${exposed.join(', ')}`);
  });

  it('a wrong password and an unknown email get the same 401 INVALID_CREDENTIALS', async () => {
    const { user } = await register('guarded');
    const wrong = await t.api.call('POST', '/v1/auth/login', { body: { email: user.email, password: 'not the password' } });
    const unknown = await t.api.call('POST', '/v1/auth/login', { body: { email: `nobody-${run}@example.com`, password } });
    assertError(wrong, 401, 'INVALID_CREDENTIALS');
    assertError(unknown, 401, 'INVALID_CREDENTIALS');
    assert.deepEqual({ ...wrong.body.error, traceId: '' }, { ...unknown.body.error, traceId: '' });
  });

  it('a rider gets 403 OPERATOR_ONLY on every operator route, whatever they send', async () => {
    const { user, tokens } = await register('curious');
    const token = tokens.accessToken;
    assertError(await t.api.call('GET', '/v1/admin/users', { token }), 403, 'OPERATOR_ONLY');
    assertError(await t.api.call('GET', '/v1/admin/users', { token, query: { limit: 'lots' } }), 403, 'OPERATOR_ONLY');
    assertError(await t.api.call('GET', `/v1/admin/users/${user.id}`, { token }), 403, 'OPERATOR_ONLY');
    assertError(await t.api.call('POST', `/v1/admin/users/${operator.user.id}/suspend`, { token, body: { reason: 'coup' } }), 403, 'OPERATOR_ONLY');
    assertError(await t.api.call('PUT', `/v1/admin/users/${user.id}/plan`, { token, body: { plan: 'unlimited' } }), 403, 'OPERATOR_ONLY');
    assertError(await t.api.call('PUT', `/v1/admin/users/${user.id}/role`, { token, body: { role: 'admin' } }), 403, 'ADMIN_ONLY');
    const me = await t.api.call<{ user: WireUser }>('GET', '/v1/me', { token });
    assert.equal(me.body.user.plan, 'free', 'nothing changed');
  });

  it('an operator pages through users: the cursor walk returns every user exactly once, newest first', async () => {
    const made: string[] = [];
    for (let index = 0; index < 7; index++) made.push((await register(`pager${index}`)).user.id);

    const everyone = await t.api.call<UserPage>('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { limit: 100 } });
    assert.equal(everyone.status, 200);
    assert.equal(everyone.body.nextCursor, null);
    const walk = await listAll({}, 3);
    assert.deepEqual(walk.ids, everyone.body.items.map((user) => user.id), 'pages of 3 concatenate to the one big page');
    assert.equal(new Set(walk.ids).size, walk.ids.length, 'nobody appears twice');
    assert.equal(walk.pages, Math.ceil(walk.ids.length / 3));
    for (const id of made) assert.ok(walk.ids.includes(id));
    const times = everyone.body.items.map((user) => Date.parse(user.createdAt));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');

    const pagers = await listAll({ search: `pager` }, 2);
    assert.deepEqual(pagers.ids, [...made].reverse());
    assert.equal(pagers.pages, 4);

    const lastPage = await t.api.call<UserPage>('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { limit: 7, search: 'pager' } });
    assert.equal(lastPage.body.items.length, 7);
    assert.equal(lastPage.body.nextCursor, null, 'an exactly full last page says there is no more');

    assertError(await t.api.call('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { cursor: 'bm90LWEtY3Vyc29y' } }), 400, 'INVALID_CURSOR');
    assertError(await t.api.call('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { limit: 0 } }), 400, 'VALIDATION_FAILED');
    assertError(await t.api.call('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { limit: 101 } }), 400, 'VALIDATION_FAILED');
  });

  it('operator search matches email or name case-insensitively; % and _ are literal characters', async () => {
    const byEmail = await register('searchable');
    const byName = { body: await signUpAndLogIn(t.api, { email: `plain-${run}@example.com`, password, displayName: `Findme_${run} 100% sure` }) };
    const search = async (term: string, extra: Record<string, string> = {}) => {
      const response = await t.api.call<UserPage>('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { search: term, limit: 100, ...extra } });
      assert.equal(response.status, 200, response.text);
      return response.body.items.map((user) => user.id).sort();
    };
    assert.deepEqual(await search(`SEARCHABLE-${run.toUpperCase()}`), [byEmail.user.id]);
    assert.deepEqual(await search(`findme_${run}`), [byName.body.user.id]);
    assert.deepEqual(await search('%'), [byName.body.user.id], '% matches only itself, not everyone');
    assert.deepEqual(await search(`Findme_${run.slice(0, 4)}`), [byName.body.user.id]);
    assert.deepEqual(await search(`searchable_${run}`), [], '_ is not a one-character wildcard (the email has a hyphen there)');
    assert.deepEqual(await search(`zz-no-such-${run}`), []);
    const operators = await t.api.call<UserPage>('GET', '/v1/admin/users', { token: operator.tokens.accessToken, query: { role: 'operator', limit: 100 } });
    assert.deepEqual(operators.body.items.map((user) => user.email), [demoAccounts.operator.email]);
  });

  it('a suspended rider cannot log in or refresh until an operator reactivates them', async () => {
    const rider = await register('suspect');
    const operatorToken = operator.tokens.accessToken;
    const suspended = await t.api.call<WireUser>('POST', `/v1/admin/users/${rider.user.id}/suspend`, { token: operatorToken, body: { reason: 'unpaid fines' } });
    assert.equal(suspended.status, 200, suspended.text);
    assert.equal(suspended.body.status, 'suspended');
    assert.equal(suspended.body.suspendedReason, 'unpaid fines');

    assertError(await t.api.call('POST', '/v1/auth/login', { body: { email: rider.user.email, password } }), 403, 'USER_SUSPENDED');
    // Suspension revoked every refresh token the rider had.
    assertError(await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: rider.tokens.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    const listed = await t.api.call<UserPage>('GET', '/v1/admin/users', { token: operatorToken, query: { status: 'suspended', search: 'suspect' } });
    assert.deepEqual(listed.body.items.map((user) => user.id), [rider.user.id]);

    const again = await t.api.call<WireUser>('POST', `/v1/admin/users/${rider.user.id}/suspend`, { token: operatorToken, body: { reason: 'twice' } });
    assert.equal(again.status, 200, 'suspending a suspended user is a no-op');
    assert.equal(again.body.suspendedReason, 'unpaid fines');

    const reactivated = await t.api.call<WireUser>('POST', `/v1/admin/users/${rider.user.id}/reactivate`, { token: operatorToken });
    assert.equal(reactivated.status, 200, reactivated.text);
    assert.equal(reactivated.body.status, 'active');
    assert.equal(reactivated.body.suspendedReason, undefined);
    const back = await login(rider.user.email);
    assert.equal(back.user.status, 'active');
    assertError(await t.api.call('POST', '/v1/auth/refresh', { body: { refreshToken: rider.tokens.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');

    assertError(await t.api.call('POST', `/v1/admin/users/${operator.user.id}/suspend`, { token: operatorToken, body: { reason: 'oops' } }), 400, 'CANNOT_SUSPEND_SELF');
    assertError(await t.api.call('GET', '/v1/admin/users/00000000-0000-7000-8000-000000000000', { token: operatorToken }), 404, 'USER_NOT_FOUND');
  });

  describe('access tokens', () => {
    let rider: Session;
    let kid: string;
    let publicX: string;

    before(async () => {
      rider = await register('holder');
      const jwks = await t.platform.module(userDescriptor).signer.jwks();
      kid = decodeProtectedHeader(rider.tokens.accessToken).kid as string;
      publicX = jwks.keys.find((key) => key.kid === kid)?.x as string;
      assert.ok(publicX, 'the signing key is published');
    });

    it('no token is 401 AUTHENTICATION_REQUIRED with a Bearer challenge', async () => {
      const response = await t.api.call('GET', '/v1/me');
      assertError(response, 401, 'AUTHENTICATION_REQUIRED');
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assertError(await t.api.call('GET', '/v1/me', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401, 'AUTHENTICATION_REQUIRED');
    });

    it('a token the platform signed that has expired is 401 TOKEN_EXPIRED', async () => {
      const expired = await expiredAccessToken(t.platform, { ...rider.user, sessionId: claimsOf(rider.tokens.accessToken)['sid'] as string });
      assert.ok((claimsOf(expired)['exp'] as number) * 1000 < Date.now() - 60_000);
      assert.equal(decodeProtectedHeader(expired).kid, kid, 'signed with the live key: only time is wrong');
      assertError(await t.api.call('GET', '/v1/me', { token: expired }), 401, 'TOKEN_EXPIRED');
      // The same claims, freshly signed, are accepted: the rejection was about time alone.
      assert.equal((await t.api.call('GET', '/v1/me', { token: rider.tokens.accessToken })).status, 200);
    });

    it('a token whose claims were edited is 401 INVALID_TOKEN, even claiming admin', async () => {
      const promoted = withTamperedClaims(rider.tokens.accessToken, { role: 'admin' });
      assertError(await t.api.call('GET', '/v1/admin/users', { token: promoted }), 401, 'INVALID_TOKEN');
      const someoneElse = withTamperedClaims(rider.tokens.accessToken, { sub: operator.user.id });
      assertError(await t.api.call('GET', '/v1/me', { token: someoneElse }), 401, 'INVALID_TOKEN');
      for (const bit of [0, 100, 511]) {
        assertError(await t.api.call('GET', '/v1/me', { token: withFlippedSignatureBit(rider.tokens.accessToken, bit) }), 401, 'INVALID_TOKEN');
      }
    });

    it('an alg:none token is 401 INVALID_TOKEN', async () => {
      const none = unsignedToken(plausibleClaims({ ...operator.user, role: 'admin' }));
      assertError(await t.api.call('GET', '/v1/admin/users', { token: none }), 401, 'INVALID_TOKEN');
      assertError(await t.api.call('GET', '/v1/me', { token: unsignedToken(plausibleClaims(rider.user)) }), 401, 'INVALID_TOKEN');
    });

    it('a token signed by a foreign Ed25519 key is 401 INVALID_TOKEN, with the real kid or an unknown one', async () => {
      assertError(await t.api.call('GET', '/v1/me', { token: await foreignKeyToken(rider.user, kid) }), 401, 'INVALID_TOKEN');
      assertError(await t.api.call('GET', '/v1/admin/users', { token: await foreignKeyToken({ ...operator.user, role: 'admin' }) }), 401, 'INVALID_TOKEN');
    });

    it('an HS256 token keyed with the public key (key confusion) is 401 INVALID_TOKEN', async () => {
      assertError(await t.api.call('GET', '/v1/me', { token: hmacKeyConfusionToken(rider.user, publicX, kid) }), 401, 'INVALID_TOKEN');
    });

    it('garbage is 401 INVALID_TOKEN and never reaches the handler', async () => {
      for (const token of ['a.b.c', 'not-a-jwt', `${rider.tokens.accessToken}x`, rider.tokens.accessToken.split('.').slice(0, 2).join('.')]) {
        const response = await t.api.call('GET', '/v1/me', { token });
        assertError(response, 401, 'INVALID_TOKEN');
      }
      assertErrorShape((await t.api.call('GET', '/v1/me', { token: rider.tokens.refreshToken })).body);
    });
  });

  it('the calls crossed the wire: the user service’s HTTP server counted its RPC routes', async () => {
    const metrics = await (await fetch(`${t.platform.urlOf('user')}/metrics`)).text();
    assert.equal(t.platform.rpcTransport, 'http');
    assert.match(metrics, /http_server_request_duration_seconds_count\{[^}]*http_route="\/rpc\/user\/Login"[^}]*http_response_status_code="200"[^}]*\} [1-9]/);
  });
});
