import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, METHODS } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gatewayDescriptor, reservedPrefixes } from '@carshare/gateway-service';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import fc from 'fast-check';
import { decodeProtectedHeader } from 'jose';
import { assertErrorShape } from './support/error-shape.ts';
import {
  expiredAccessToken,
  foreignKeyToken,
  hmacKeyConfusionToken,
  plausibleClaims,
  unsignedToken,
  withFlippedSignatureBit,
  withTamperedClaims,
} from './support/forged-tokens.ts';
import { DroppedConnection, sendRaw, type RawRequest, type RawResponse } from './support/raw-http.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

const seed = 20_261_124;
const requestCount = 5_000;
const concurrency = 10;

type Category =
  | 'malformed-json'
  | 'wrong-types'
  | 'unknown-fields'
  | 'missing-fields'
  | 'huge-strings'
  | 'megabyte-body'
  | 'wrong-content-type'
  | 'bad-token'
  | 'rider-on-admin'
  | 'operator-bad-input'
  | 'odd-route'
  | 'static-miss';

/** What each category may answer: every one is a client error, and which one is part of the contract. */
const allowedStatuses: Record<Category, readonly number[]> = {
  'malformed-json': [400],
  'wrong-types': [400],
  'unknown-fields': [400],
  'missing-fields': [400],
  'huge-strings': [400, 413],
  'megabyte-body': [413],
  'wrong-content-type': [400, 415],
  'bad-token': [401],
  'rider-on-admin': [403],
  'operator-bad-input': [400, 403, 404],
  // 405 (with Allow) where the path exists with other methods, 404 where it does not.
  'odd-route': [404, 405],
  // @fastify/static: 404 for a missing file, 403 for a path leaving its root, 400 for a NUL byte.
  'static-miss': [400, 403, 404],
};

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The category's statuses, narrowed or widened where the request itself decides which one is right. */
function expectedStatuses(fuzz: FuzzCase): readonly number[] {
  // Fastify reads the body of a request even when no route matches, so broken JSON there is a 400.
  if (fuzz.category === 'odd-route' && typeof fuzz.body === 'string' && !isJson(fuzz.body)) return [400, 404, 405];
  // QUERY is a method with a body: without a Content-Type fastify refuses it before routing.
  if (fuzz.category === 'odd-route' && fuzz.method === 'QUERY' && fuzz.headers['content-type'] === undefined) return [400, 404, 405];
  // A body type the API does not take is refused before its size matters.
  if (fuzz.category === 'megabyte-body' && fuzz.headers['content-type'] !== 'application/json') return [413, 415];
  return allowedStatuses[fuzz.category];
}

interface FuzzCase {
  category: Category;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** A string body, or a recipe for a big one (built when sent, so 2,000 cases stay small in memory). */
  body?: string | { prefix: string; fill: string; bytes: number; suffix: string };
  chunked?: boolean;
}

interface Tokens {
  rider: string;
  operator: string;
  bad: string[];
}

/** Field schemas of the public bodies, as the contracts say: required fields and their max lengths. */
const publicBodies = {
  '/v1/auth/register': { email: 254, password: 128, displayName: 80 },
  '/v1/auth/login': { email: 254, password: 128 },
  '/v1/auth/refresh': { refreshToken: 256 },
  '/v1/auth/logout': { refreshToken: 256 },
} as const;
type PublicPath = keyof typeof publicBodies;
const publicPaths = Object.keys(publicBodies) as PublicPath[];

const text = (constraints: fc.StringConstraints = {}) => fc.string({ unit: 'binary', ...constraints });

const nonString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }));

/** A body of the right shape; which values it holds does not matter to the categories using it. */
function wellShaped(path: PublicPath): fc.Arbitrary<Record<string, string>> {
  const fields = Object.keys(publicBodies[path]);
  const valueFor = (field: string) => {
    if (field === 'email') return fc.emailAddress().map((email) => `fuzz.${email}`.slice(0, 254));
    if (field === 'password') return text({ minLength: 10, maxLength: 40 });
    if (field === 'displayName') return text({ minLength: 1, maxLength: 40 });
    return fc.base64String({ minLength: 4, maxLength: 64 });
  };
  return fc.record(Object.fromEntries(fields.map((field) => [field, valueFor(field)])) as Record<string, fc.Arbitrary<string>>);
}

const json = (value: unknown) => JSON.stringify(value);
const jsonHeaders = { 'content-type': 'application/json' };
const publicPath = fc.constantFrom(...publicPaths);

const malformedJson: fc.Arbitrary<FuzzCase> = fc.oneof(
  // Any proper prefix of an object's JSON text lacks its closing brace, so it cannot parse.
  publicPath.chain((path) =>
    wellShaped(path).chain((body) =>
      fc.integer({ min: 1, max: json(body).length - 1 }).map((cut) => ({ path, body: json(body).slice(0, cut) })),
    ),
  ),
  fc.record({
    path: publicPath,
    body: fc.constantFrom(
      "{'email':'a@b.c'}",
      '{email:"a@b.c"}',
      '{"email":"a@b.c",}',
      '{"a":1}}',
      '{"a":01}',
      '{"a":"\u0001"}',
      '{"a":NaN}',
      '[1,2',
      'undefined',
      '"unterminated',
      '{"refreshToken":"x"} trailing',
      '{"__proto__":{"isAdmin":true},"refreshToken":"x"}',
      '{"constructor":{"prototype":{"isAdmin":true}},"refreshToken":"x"}',
      '\u00ff\u00fe{}',
    ),
  }),
).map(({ path, body }) => ({ category: 'malformed-json' as const, method: 'POST', path, headers: jsonHeaders, body }));

const wrongTypes: fc.Arbitrary<FuzzCase> = publicPath.chain((path) =>
  fc
    .tuple(wellShaped(path), fc.constantFrom(...Object.keys(publicBodies[path])), nonString, fc.boolean())
    .map(([body, field, value, wholeBody]) => ({
      category: 'wrong-types' as const,
      method: 'POST',
      path,
      headers: jsonHeaders,
      // Either one field has the wrong type, or the body is not an object at all.
      body: wholeBody ? json(Array.isArray(value) || typeof value !== 'object' || value === null ? value : [value]) : json({ ...body, [field]: value }),
    })),
);

const unknownFields: fc.Arbitrary<FuzzCase> = publicPath.chain((path) =>
  fc
    .tuple(
      wellShaped(path),
      fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !(key in publicBodies[path]) && key !== '__proto__'),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map(([body, key, value]) => ({ category: 'unknown-fields' as const, method: 'POST', path, headers: jsonHeaders, body: json({ ...body, [key]: value }) })),
);

const missingFields: fc.Arbitrary<FuzzCase> = publicPath.chain((path) =>
  fc
    .tuple(wellShaped(path), fc.subarray(Object.keys(publicBodies[path]), { minLength: 1 }))
    .map(([body, dropped]) => ({
      category: 'missing-fields' as const,
      method: 'POST',
      path,
      headers: jsonHeaders,
      body: json(Object.fromEntries(Object.entries(body).filter(([field]) => !dropped.includes(field)))),
    })),
);

const hugeStrings: fc.Arbitrary<FuzzCase> = publicPath.chain((path) =>
  fc
    .tuple(wellShaped(path), fc.constantFrom(...Object.keys(publicBodies[path])), text({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 70_000 }))
    .map(([body, field, unit, extra]) => {
      const limit = (publicBodies[path] as Record<string, number>)[field] ?? 0;
      // More than twice the limit in UTF-16 units is over it in code points too, however they count.
      const long = unit.repeat(Math.ceil((2 * limit + extra) / unit.length));
      return { category: 'huge-strings' as const, method: 'POST', path, headers: jsonHeaders, body: json({ ...body, [field]: long }) };
    }),
);

const megabyteBody: fc.Arbitrary<FuzzCase> = fc
  .record({
    // Routes with a body: elsewhere the route or the token is refused before the body is read.
    path: publicPath,
    bytes: fc.integer({ min: 1_048_576, max: 1_200_000 }),
    chunked: fc.boolean(),
    contentType: fc.constantFrom('application/json', 'text/plain'),
  })
  .map(({ path, bytes, chunked, contentType }) => ({
    category: 'megabyte-body' as const,
    method: 'POST',
    path,
    headers: { 'content-type': contentType },
    body: { prefix: '{"refreshToken":"', fill: 'A', bytes, suffix: '"}' },
    chunked,
  }));

const wrongContentType: fc.Arbitrary<FuzzCase> = publicPath.chain((path) =>
  fc
    .tuple(
      wellShaped(path),
      fc.constantFrom(
        'text/plain',
        'text/plain; charset=utf-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=----fuzz',
        'application/xml',
        'text/html',
        'application/octet-stream',
        'image/png',
        'application/jsonp',
        'application/json-seq',
        'json',
        'text/json',
        '',
        null,
      ),
    )
    .map(([body, contentType]) => ({
      category: 'wrong-content-type' as const,
      method: 'POST',
      path,
      headers: contentType === null ? {} : ({ 'content-type': contentType } as Record<string, string>),
      body: contentType?.includes('urlencoded') ? new URLSearchParams(body).toString() : json(body),
    })),
);

const randomId = fc.uuid();
const authRoutes = (id: fc.Arbitrary<string>): fc.Arbitrary<{ method: string; path: string; admin: boolean }> =>
  fc.oneof(
    fc.constantFrom({ method: 'GET', path: '/v1/me', admin: false }, { method: 'HEAD', path: '/v1/me', admin: false }),
    fc.constantFrom('GET', 'HEAD').map((method) => ({ method, path: '/v1/admin/users', admin: true })),
    fc
      .tuple(id, fc.constantFrom(['GET', ''], ['HEAD', ''], ['POST', '/suspend'], ['POST', '/reactivate'], ['PUT', '/role'], ['PUT', '/plan']))
      .map(([userId, [method, suffix]]) => ({ method: method as string, path: `/v1/admin/users/${userId}${suffix}`, admin: true })),
  );

/** Whatever the body and query, the token decides first: it is checked in onRequest. */
const anyBody = fc.option(
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }).map(json),
    fc.constant('{"reason":"fuzz","role":"admin","plan":"unlimited"}'),
    text({ maxLength: 30 }),
  ),
  { nil: undefined },
);
const anyQuery = fc.option(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), text({ maxLength: 20 }), { maxKeys: 3 }).map((query) =>
    Object.entries(query)
      .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
      .join('&'),
  ),
  { nil: undefined },
);

function withToken(category: Category, tokens: fc.Arbitrary<string>, admin: boolean | undefined): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(authRoutes(randomId), tokens, anyBody, anyQuery)
    .filter(([route]) => admin === undefined || route.admin === admin)
    .map(([route, authorization, body, query]) => ({
      category,
      method: route.method,
      path: query ? `${route.path}?${query}` : route.path,
      headers: { authorization, ...(body !== undefined && route.method !== 'HEAD' && jsonHeaders) },
      ...(body !== undefined && route.method !== 'HEAD' && { body }),
    }));
}

const badQuery: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('0', '-1', '101', '1000000', 'abc', '', ' ', '1e400', 'NaN', 'Infinity', '1.5', 'true', '0x10', ' 5', '1e1').map((limit) => [['limit', limit]]),
      fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 })).map(([a, b]) => [['limit', String(a)], ['limit', String(b)]]),
      fc.string({ maxLength: 12 }).filter((role) => !['rider', 'operator', 'admin'].includes(role)).map((role) => [['role', role]]),
      fc.string({ maxLength: 12 }).filter((status) => !['active', 'suspended'].includes(status)).map((status) => [['status', status]]),
      fc.string({ minLength: 1, maxLength: 12 }).filter((name) => !['limit', 'cursor', 'search', 'role', 'status'].includes(name)).map((name) => [[name, 'x']]),
      fc.oneof(fc.constant(''), text({ minLength: 101, maxLength: 300 }).filter((search) => search.length > 100)).map((search) => [['search', search]]),
      fc.oneof(
        fc.constant(''),
        fc.constant('A'.repeat(600)),
        fc.constantFrom('!!', 'a+b/c=', 'x y', '%'),
        fc.jsonValue({ maxDepth: 2 }).filter((value) => !Array.isArray(value)).map((value) => Buffer.from(json(value)).toString('base64url')),
        fc.array(fc.string({ maxLength: 10 }), { minLength: 1, maxLength: 2 }).map((values) => Buffer.from(json(values)).toString('base64url')),
        fc.base64String({ minLength: 4, maxLength: 40 }).map((value) => value.replaceAll('=', '').replaceAll('+', '-').replaceAll('/', '_')).filter((value) => value.length > 0),
      ).map((cursor) => [['cursor', cursor]]),
    ),
    fc.subarray([['limit', '5'], ['search', 'a'], ['role', 'rider'], ['status', 'active']]),
  )
  .map(([defect, extras]) =>
    [...extras.filter(([name]) => !defect.some(([bad]) => bad === name)), ...defect]
      .map(([name, value]) => `${encodeURIComponent(name as string)}=${encodeURIComponent(value as string)}`)
      .join('&'),
  );

// At most 200 characters as sent: a longer one trips the router's maxParamLength (tested on its own
// below), which answers 414 rather than the 400 this category expects.
const badUserId = fc
  .oneof(
    fc.constantFrom('not-a-uuid', '00000000-0000-0000-0000-00000000000', '00000000-0000-0000-0000-0000000000000', '{00000000-0000-0000-0000-000000000000}', '1', 'me', '..'),
    text({ minLength: 1, maxLength: 60 }),
  )
  .map(encodeURIComponent)
  .filter((id) => id.length <= 200);

function operatorBadInput(operator: string): fc.Arbitrary<FuzzCase> {
  const authorization = `Bearer ${operator}`;
  return fc.oneof(
    fc.tuple(fc.constantFrom('GET', 'HEAD'), badQuery).map(([method, query]) => ({ method, path: `/v1/admin/users?${query}` })),
    fc.tuple(badUserId, fc.constantFrom(['GET', ''], ['POST', '/suspend'], ['POST', '/reactivate'], ['PUT', '/plan'], ['PUT', '/role']), anyBody).map(([id, [method, suffix], body]) => ({ method: method as string, path: `/v1/admin/users/${id}${suffix}`, body })),
    // A well-formed id nobody has: 404, or 400 first when the body is wrong; role is admins-only.
    fc
      .tuple(randomId, fc.constantFrom(['GET', ''], ['POST', '/suspend'], ['POST', '/reactivate'], ['PUT', '/plan'], ['PUT', '/role']), fc.option(fc.constantFrom('{"reason":"fuzz"}', '{"plan":"basic"}', '{"role":"admin"}', '{}', '{"reason":""}', '{"plan":"gold"}'), { nil: undefined }))
      .map(([id, [method, suffix], body]) => ({ method: method as string, path: `/v1/admin/users/${id}${suffix}`, body })),
  ).map((request) => {
    const body = 'body' in request && request.method !== 'GET' && request.method !== 'HEAD' ? request.body : undefined;
    return {
      category: 'operator-bad-input' as const,
      method: request.method,
      path: request.path,
      headers: { authorization, ...(body !== undefined && jsonHeaders) },
      ...(body !== undefined && { body }),
    };
  });
}

/** Every route the gateway serves, by method and URL template (HEAD comes with every GET). */
const routedTemplates = new Set([
  'POST /v1/auth/register',
  'POST /v1/auth/login',
  'POST /v1/auth/refresh',
  'POST /v1/auth/logout',
  'GET /v1/me',
  'GET /v1/admin/users',
  'GET /v1/admin/users/:id',
  'POST /v1/admin/users/:id/suspend',
  'POST /v1/admin/users/:id/reactivate',
  'PUT /v1/admin/users/:id/role',
  'PUT /v1/admin/users/:id/plan',
  'GET /health/live',
  'GET /health/ready',
]);
// OPTIONS belongs to CORS preflight (its own test below); CONNECT opens tunnels, not requests.
const oddMethods = METHODS.filter((method) => method !== 'OPTIONS' && method !== 'CONNECT');

const segment = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 12 }).map((value) => `zz-${encodeURIComponent(value)}`);

const oddRoute: fc.Arbitrary<FuzzCase> = fc
  .oneof(
    // Real paths with a method they do not have.
    fc
      .tuple(fc.constantFrom(...routedTemplates), fc.constantFrom(...oddMethods), randomId)
      .filter(([template, method]) => {
        const [routedMethod, url] = template.split(' ') as [string, string];
        const effective = method === 'HEAD' ? 'GET' : method;
        return effective !== routedMethod && !routedTemplates.has(`${effective} ${url}`);
      })
      .map(([template, method, id]) => ({ method, path: (template.split(' ')[1] as string).replace(':id', id) })),
    // Paths nobody serves: every one has a `zz-` segment no route has.
    fc
      .tuple(
        fc.constantFrom(...oddMethods),
        fc.constantFrom('', '/v1', '/v2', '/V1/ME', '/v1/me', '/v1//me', '/v1/auth', '/rpc/user', '/health', '/metrics', '/.well-known', '/docs', '/v1/admin/users/00000000-0000-7000-8000-000000000000'),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('', '/', '?', '?a=1&a=2', '?%', '?=&=', '?x=%E2%82'),
      )
      .map(([method, prefix, segments, tail]) => ({ method, path: `${prefix}/${segments.join('/')}${tail}` })),
    fc.tuple(fc.constantFrom(...oddMethods), fc.integer({ min: 1_000, max: 6_000 })).map(([method, length]) => ({ method, path: `/zz-${'a'.repeat(length)}` })),
  )
  .chain(({ method, path }) =>
    anyBody.map((body) => ({
      category: 'odd-route' as const,
      method,
      path,
      headers: body !== undefined && method !== 'HEAD' ? jsonHeaders : {},
      ...(body !== undefined && method !== 'HEAD' && { body }),
    })),
  );

const staticMiss: fc.Arbitrary<FuzzCase> = fc
  .tuple(fc.constantFrom('GET', 'HEAD'), fc.constantFrom('/docs/static/', '/docs/static/../', '/docs/static/%2e%2e/', '/docs/static/..%2f..%2f'), segment)
  .map(([method, prefix, name]) => ({ category: 'static-miss' as const, method, path: `${prefix}${name}.js`, headers: {} }));

function fuzzCases(tokens: Tokens): fc.Arbitrary<FuzzCase> {
  const badToken = fc.oneof(
    fc.constantFrom(...tokens.bad),
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.'), minLength: 1, maxLength: 400 }),
    fc.base64String({ minLength: 4, maxLength: 200 }),
  );
  const authorization = fc.oneof(
    badToken.map((token) => `Bearer ${token}`),
    fc.constantFrom('Bearer', 'Bearer ', `Bearer  ${tokens.rider}`, `Basic ${Buffer.from('operator:pass').toString('base64')}`, `Token ${tokens.operator}`, tokens.operator, 'Bearer null'),
  );
  return fc.oneof(
    { arbitrary: malformedJson, weight: 2 },
    { arbitrary: wrongTypes, weight: 2 },
    { arbitrary: unknownFields, weight: 2 },
    { arbitrary: missingFields, weight: 2 },
    { arbitrary: hugeStrings, weight: 1 },
    { arbitrary: megabyteBody, weight: 1 },
    { arbitrary: wrongContentType, weight: 2 },
    { arbitrary: withToken('bad-token', authorization, undefined), weight: 3 },
    { arbitrary: withToken('rider-on-admin', fc.constant(`Bearer ${tokens.rider}`), true), weight: 2 },
    { arbitrary: operatorBadInput(tokens.operator), weight: 3 },
    { arbitrary: oddRoute, weight: 3 },
    { arbitrary: staticMiss, weight: 1 },
  );
}

function rawOf(fuzz: FuzzCase): RawRequest {
  const body =
    fuzz.body === undefined
      ? undefined
      : typeof fuzz.body === 'string'
        ? Buffer.from(fuzz.body, 'utf8')
        : Buffer.from(fuzz.body.prefix + fuzz.body.fill.repeat(fuzz.body.bytes) + fuzz.body.suffix, 'utf8');
  return { method: fuzz.method, path: fuzz.path, headers: fuzz.headers, ...(body && { body }), ...(fuzz.chunked && { chunked: true }) };
}

function describeCase(fuzz: FuzzCase): string {
  const body = fuzz.body === undefined ? '' : typeof fuzz.body === 'string' ? fuzz.body.slice(0, 160) : `<${fuzz.body.bytes} bytes${fuzz.chunked ? ', chunked' : ''}>`;
  return `[${fuzz.category}] ${fuzz.method} ${fuzz.path.slice(0, 160)} ${JSON.stringify(fuzz.headers).slice(0, 200)} ${JSON.stringify(body)}`;
}

/**
 * A GET or HEAD of a path outside the API's prefixes is a screen of the rider app: the gateway
 * answers with the app's index.html (client-side routing), or, where the apps are not built, the
 * HTML page that says so (web-apps.ts). Both are deliberate, neither is an API answer.
 */
function isAppShell(fuzz: FuzzCase, response: RawResponse): boolean {
  if (fuzz.method !== 'GET' && fuzz.method !== 'HEAD') return false;
  const path = fuzz.path.split('?')[0] ?? '';
  if (reservedPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return false;
  return (response.status === 200 || response.status === 503) && /^text\/html/.test(String(response.headers['content-type']));
}

/** The property: a client error, in the public error shape, every time (app screens aside). */
function checkResponse(fuzz: FuzzCase, response: RawResponse): void {
  if (isAppShell(fuzz, response)) return;
  const expected = expectedStatuses(fuzz);
  assert.ok(expected.includes(response.status), `status ${response.status} is not one of ${expected.join('/')}: ${response.text.slice(0, 300)}`);
  assert.match(String(response.headers['content-type']), /^application\/json/, `content-type ${String(response.headers['content-type'])}: ${response.text.slice(0, 200)}`);
  // A HEAD answer has the headers of the GET answer and, by HTTP, no body.
  if (fuzz.method === 'HEAD') {
    assert.equal(response.text, '');
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    assert.fail(`body is not JSON: ${response.text.slice(0, 300)}`);
  }
  assertErrorShape(body);
}

async function runPool<T>(items: readonly T[], workers: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
}

async function metricValue(url: string, name: string): Promise<number> {
  const metrics = await (await fetch(new URL('/metrics', url))).text();
  return metrics
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('gateway under malformed requests', () => {
  let t: TestPlatform;
  let tokens: Tokens;
  let agent: Agent;

  before(async () => {
    t = await startTestPlatform();
    agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    await seedDemoData(t.platform.module(userDescriptor).users);
    const login = async (email: string, password: string) => {
      const response = await t.api.call('POST', '/v1/auth/login', { body: { email, password } });
      assert.equal(response.status, 200, response.text);
      return response.body as { user: { id: string; role: 'rider' | 'operator'; plan: string }; tokens: { accessToken: string; refreshToken: string } };
    };
    const rider = await login(demoAccounts.rider.email, demoAccounts.rider.password);
    const operator = await login(demoAccounts.operator.email, demoAccounts.operator.password);
    const kid = decodeProtectedHeader(rider.tokens.accessToken).kid as string;
    const publicX = (await t.platform.module(userDescriptor).signer.jwks()).keys.find((key) => key.kid === kid)?.x as string;
    const admin = { ...operator.user, role: 'admin' as const };
    tokens = {
      rider: rider.tokens.accessToken,
      operator: operator.tokens.accessToken,
      bad: [
        await expiredAccessToken(t.platform, rider.user),
        await expiredAccessToken(t.platform, operator.user),
        withTamperedClaims(rider.tokens.accessToken, { role: 'operator' }),
        withTamperedClaims(operator.tokens.accessToken, { role: 'admin' }),
        withTamperedClaims(rider.tokens.accessToken, { exp: 4_102_444_800 }),
        withFlippedSignatureBit(operator.tokens.accessToken, 7),
        withFlippedSignatureBit(rider.tokens.accessToken, 300),
        unsignedToken(plausibleClaims(admin)),
        await foreignKeyToken(admin, kid),
        await foreignKeyToken(admin),
        hmacKeyConfusionToken(admin, publicX, kid),
        rider.tokens.refreshToken,
        `${operator.tokens.accessToken}.${operator.tokens.accessToken}`,
        operator.tokens.accessToken.split('.').reverse().join('.'),
      ],
    };
  });
  after(async () => {
    agent?.destroy();
    await t?.close();
  });

  it(`answers ${requestCount} generated malformed requests with 4xx and the error shape, never 5xx or a dropped connection`, async (context) => {
    const cases = fc.sample(fuzzCases(tokens), { seed, numRuns: requestCount });
    const failures: string[] = [];
    const statuses = new Map<string, number>();
    const categories = new Map<Category, number>();
    await runPool(cases, concurrency, async (fuzz) => {
      categories.set(fuzz.category, (categories.get(fuzz.category) ?? 0) + 1);
      let response: RawResponse;
      try {
        response = await sendRaw(t.platform.gatewayUrl, agent, rawOf(fuzz));
      } catch (error) {
        if (!(error instanceof DroppedConnection)) throw error;
        failures.push(`${describeCase(fuzz)}\n    → dropped: ${error.message}`);
        return;
      }
      statuses.set(`${fuzz.category} ${response.status}`, (statuses.get(`${fuzz.category} ${response.status}`) ?? 0) + 1);
      try {
        checkResponse(fuzz, response);
      } catch (error) {
        failures.push(`${describeCase(fuzz)}\n    → ${(error as Error).message.split('\n')[0]}`);
      }
    });
    context.diagnostic(`statuses: ${[...statuses].sort().map(([key, count]) => `${key}×${count}`).join(', ')}`);
    assert.deepEqual(failures.slice(0, 15), [], `${failures.length} of ${cases.length} requests broke the contract (seed ${seed})`);
    for (const category of Object.keys(allowedStatuses) as Category[]) {
      assert.ok((categories.get(category) ?? 0) >= 40, `the generator made only ${categories.get(category) ?? 0} ${category} cases`);
    }

    // Still serving, nothing logged as an error, nothing counted as unhandled in either service.
    const health = await fetch(new URL('/health/ready', t.platform.gatewayUrl));
    assert.equal(health.status, 200);
    assert.equal((await t.api.call('GET', '/v1/me', { token: tokens.operator })).status, 200);
    assert.deepEqual(t.logs.errors().map((line) => line.msg), [], 'no error-level log lines');
    // The gateway's metrics are on its operations listener, not the public port (ADR 0023).
    assert.equal(await metricValue(t.platform.module(gatewayDescriptor).opsUrl(), 'carshare_unhandled_errors_total'), 0);
    assert.equal(await metricValue(t.platform.urlOf('user'), 'carshare_unhandled_errors_total'), 0);
  });

  describe('edges that once slipped through (each was a 5xx or a foreign error body)', () => {
    it('a NUL character in a string field is a 400, not a 500 from the database', async () => {
      const rider = await t.api.call('POST', '/v1/auth/register', {
        body: { email: `nul-${randomUUID()}@example.com`, password: 'correct horse battery', displayName: 'nul\u0000name' },
      });
      const login = await t.api.call('POST', '/v1/auth/login', { body: { email: 'a\u0000b@example.com', password: 'whatever-it-is' } });
      const search = await t.api.call('GET', '/v1/admin/users', { token: tokens.operator, query: { search: 'a\u0000' } });
      for (const [what, response] of [['register', rider], ['login', login], ['search', search]] as const) {
        assert.equal(response.status, 400, `${what}: ${response.status} ${response.text}`);
        assertErrorShape(response.body);
      }
    });

    it('a client-sent x-deadline-ms cannot turn a request into a 5xx', async () => {
      for (const budget of ['0', '-1', '1']) {
        const response = await t.api.call('GET', '/v1/me', { token: tokens.operator, headers: { 'x-deadline-ms': budget } });
        assert.ok(response.status < 500, `x-deadline-ms ${budget}: ${response.status} ${response.text}`);
      }
    });

    it('a path the router refuses (broken percent-encoding, over-long parameter) gets the public error shape', async () => {
      const paths = ['/%zz', '/v1/admin/users/%E0%A4%A', '/v1/me%', `/v1/admin/users/${'a'.repeat(201)}`, `/v1/admin/users/${'%F0%9F%9A%97'.repeat(20)}/suspend`];
      for (const path of paths) {
        const response = await sendRaw(t.platform.gatewayUrl, agent, { method: 'GET', path, headers: { authorization: `Bearer ${tokens.operator}` } });
        assert.ok(response.status >= 400 && response.status < 500, `${path}: ${response.status}`);
        assertErrorShape(JSON.parse(response.text), `${path} → ${response.status}`);
      }
    });

    it('a request the HTTP parser rejects still gets the public error shape', async () => {
      const cases: RawRequest[] = [
        { method: 'FUZZ', path: '/v1/me', headers: {} },
        { method: 'GET', path: '/v1/me', headers: { 'x-padding': 'a'.repeat(20_000) } },
      ];
      for (const request of cases) {
        const response = await sendRaw(t.platform.gatewayUrl, new Agent(), request);
        assert.ok(response.status >= 400 && response.status < 500, `${request.method}: ${response.status}`);
        assertErrorShape(JSON.parse(response.text), `${request.method} ${response.status}`);
      }
    });

    it('an OPTIONS request that is not a CORS preflight is answered, not refused in plain text', async () => {
      const response = await sendRaw(t.platform.gatewayUrl, agent, { method: 'OPTIONS', path: '/v1/me', headers: {} });
      assert.equal(response.status, 204, response.text);
      assert.equal(response.text, '');
    });
  });
});
