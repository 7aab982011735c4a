import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiClient, type ApiClient, type ApiResponse, type CallOptions } from './support/api-client.ts';
import { createFreshDatabase, type FreshDatabase } from './support/fresh-database.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';
import { freePort, runCommand, spawnService, type CompletedRun, type SpawnedService } from '@carshare/testing';
import { userDescriptor } from '@carshare/user-service';

const serverUrl = process.env['DATABASE_URL'];
// Passwords pass the NIST policy (ADR 0017): long enough, free of the account's email and name.
const operator = { email: 'ops-e2e@example.com', password: 'marble lantern 58', name: 'E2E Operator' };
const password = 'plum tractor 42';

interface Step {
  step: string;
  status: number;
  body: unknown;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Makes two runs comparable: ids become `<id:N>` in order of first appearance (so "the same user
 * again" still shows), tokens, cursors, timestamps and trace ids become placeholders, after
 * checking each has the form it should.
 */
function normalizer(): (value: unknown, key?: string) => unknown {
  const ids = new Map<string, string>();
  const normalize = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => normalize(item));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([name, child]) => [name, normalize(child, name)]));
    }
    if (typeof value !== 'string') return value;
    if (key === 'accessToken' || key === 'refreshToken' || key === 'deviceToken') {
      assert.ok(value.length > 20, `${key} looks empty`);
      return `<${key}>`;
    }
    if (key === 'nextCursor') return '<cursor>';
    if (key === 'createdAt') {
      assert.ok(!Number.isNaN(Date.parse(value)), `createdAt ${value}`);
      return '<time>';
    }
    if (key === 'traceId') {
      assert.match(value, /^[0-9a-f]{32}$/);
      return '<trace>';
    }
    if (uuidPattern.test(value)) {
      if (!ids.has(value)) ids.set(value, `<id:${ids.size + 1}>`);
      return ids.get(value);
    }
    return value;
  };
  return normalize;
}

/**
 * One scripted session against the public API, the same whatever is behind the gateway. Each call
 * states the status it expects, so two topologies that are equally wrong still fail.
 */
async function runScript(api: ApiClient): Promise<Step[]> {
  const transcript: Step[] = [];
  const normalize = normalizer();
  async function call(step: string, expected: number, method: string, path: string, options?: CallOptions): Promise<ApiResponse> {
    const response = await api.call(method, path, options);
    transcript.push({ step, status: response.status, body: normalize(response.body) });
    assert.equal(response.status, expected, `${step} (${api.baseUrl}): ${response.status} ${response.text}`);
    return response;
  }
  const riderA = { email: 'rider-a@example.com', password, displayName: 'Rider A' };
  const riderB = { email: 'rider-b@example.com', password, displayName: 'Rider B' };

  // Registration opens no session and answers a taken address like a free one (ADR 0017).
  const registered = await call('register A', 202, 'POST', '/v1/auth/register', { body: riderA });
  await call('register B', 202, 'POST', '/v1/auth/register', { body: riderB });
  const again = await call('register A again', 202, 'POST', '/v1/auth/register', { body: { ...riderA, email: 'Rider-A@Example.com', password: 'violet anchor 77' } });
  assert.equal(again.text, registered.text, 'a taken address gets the same answer as a free one');
  await call('register with a bad body', 400, 'POST', '/v1/auth/register', { body: { email: 'not-an-email', password: 'short', extra: true } });
  await call('login with a wrong password', 401, 'POST', '/v1/auth/login', { body: { email: riderA.email, password: 'wrong-password' } });
  await call('login with the password of the second sign-up', 401, 'POST', '/v1/auth/login', { body: { email: riderA.email, password: 'violet anchor 77' } });
  const a = await call('A logs in', 200, 'POST', '/v1/auth/login', { body: { email: riderA.email, password } });
  const b = await call('B logs in', 200, 'POST', '/v1/auth/login', { body: { email: riderB.email, password } });
  const ops = await call('operator logs in', 200, 'POST', '/v1/auth/login', { body: { email: operator.email, password: operator.password } });
  const opsToken = ops.body.tokens.accessToken as string;
  const aToken = a.body.tokens.accessToken as string;
  const aId = a.body.user.id as string;
  const bId = b.body.user.id as string;

  await call('A reads /v1/me', 200, 'GET', '/v1/me', { token: aToken });
  await call('/v1/me without a token', 401, 'GET', '/v1/me');
  await call('A lists users', 403, 'GET', '/v1/admin/users', { token: aToken });
  const first = await call('operator lists page 1', 200, 'GET', '/v1/admin/users', { token: opsToken, query: { limit: 2 } });
  await call('operator lists page 2', 200, 'GET', '/v1/admin/users', { token: opsToken, query: { limit: 2, cursor: first.body.nextCursor } });
  await call('operator searches', 200, 'GET', '/v1/admin/users', { token: opsToken, query: { search: 'RIDER-B' } });
  await call('operator filters by role', 200, 'GET', '/v1/admin/users', { token: opsToken, query: { role: 'operator' } });
  await call('operator reads B', 200, 'GET', `/v1/admin/users/${bId}`, { token: opsToken });
  await call('operator suspends B', 200, 'POST', `/v1/admin/users/${bId}/suspend`, { token: opsToken, body: { reason: 'e2e check' } });
  await call('B logs in while suspended', 403, 'POST', '/v1/auth/login', { body: { email: riderB.email, password } });
  await call('B refreshes while suspended', 401, 'POST', '/v1/auth/refresh', { body: { refreshToken: b.body.tokens.refreshToken } });
  await call('operator lists the suspended', 200, 'GET', '/v1/admin/users', { token: opsToken, query: { status: 'suspended' } });
  await call('operator reactivates B', 200, 'POST', `/v1/admin/users/${bId}/reactivate`, { token: opsToken });
  const bAgain = await call('B logs in again', 200, 'POST', '/v1/auth/login', { body: { email: riderB.email, password } });
  await call('operator sets A to premium', 200, 'PUT', `/v1/admin/users/${aId}/plan`, { token: opsToken, body: { plan: 'premium' } });
  await call('operator tries to make A an admin', 403, 'PUT', `/v1/admin/users/${aId}/role`, { token: opsToken, body: { role: 'admin' } });
  await call('operator suspends themself', 400, 'POST', `/v1/admin/users/${ops.body.user.id}/suspend`, { token: opsToken, body: { reason: 'x' } });
  await call('A sees the new plan', 200, 'GET', '/v1/me', { token: aToken });
  const refreshed = await call('A refreshes', 200, 'POST', '/v1/auth/refresh', { body: { refreshToken: a.body.tokens.refreshToken } });
  await call('A reuses the old refresh token', 401, 'POST', '/v1/auth/refresh', { body: { refreshToken: a.body.tokens.refreshToken } });
  await call('A uses the new refresh token of the revoked family', 401, 'POST', '/v1/auth/refresh', { body: { refreshToken: refreshed.body.tokens.refreshToken } });
  await call('B logs out', 204, 'POST', '/v1/auth/logout', { body: { refreshToken: bAgain.body.tokens.refreshToken } });
  await call('B refreshes after logout', 401, 'POST', '/v1/auth/refresh', { body: { refreshToken: bAgain.body.tokens.refreshToken } });
  await call('operator reads an unknown user', 404, 'GET', '/v1/admin/users/00000000-0000-7000-8000-000000000000', { token: opsToken });
  await call('operator reads a malformed id', 400, 'GET', '/v1/admin/users/not-a-uuid', { token: opsToken });
  await call('operator sends a bad cursor', 400, 'GET', '/v1/admin/users', { token: opsToken, query: { cursor: 'bm90LWEtY3Vyc29y' } });
  await call('malformed JSON', 400, 'POST', '/v1/auth/login', { body: '{"email":', headers: { 'content-type': 'application/json' } });
  await call('a form body', 415, 'POST', '/v1/auth/login', { body: 'email=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  await call('no such route', 404, 'GET', '/v1/nothing-here');
  return transcript;
}

describe('the distributed topology answers like the embedded one', { skip: serverUrl ? false : 'DATABASE_URL is not set: the distributed topology needs PostgreSQL' }, () => {
  let database: FreshDatabase;
  let embedded: TestPlatform;
  /** CARSHARE_DATA_DIR for the children: unused with DATABASE_URL set, but never ./data. */
  let scratchDir: string;
  const services: SpawnedService[] = [];
  let gatewayUrl: string;
  let cliEnv: Record<string, string | undefined>;
  const phases: string[] = [];
  let phaseStart = performance.now();
  const phase = (name: string) => {
    phases.push(`${name} ${Math.round(performance.now() - phaseStart)} ms`);
    phaseStart = performance.now();
  };

  const cli = async (args: string[], env: Record<string, string | undefined>): Promise<CompletedRun> => runCommand({ args, env, timeoutMs: 60_000 });
  const adminCreate = ['admin', 'create', '--email', operator.email, '--password', operator.password, '--name', operator.name, '--role', 'operator'];

  before(async () => {
    database = await createFreshDatabase(serverUrl as string);
    scratchDir = mkdtempSync(join(tmpdir(), 'carshare-e2e-cli-'));
    // Every child gets its database explicitly; LOG_PRETTY off so output stays JSON lines.
    // Redis stays out as in-process, so neither side shares counters with other runs.
    cliEnv = {
      DATABASE_URL: database.url,
      CARSHARE_DATA_DIR: scratchDir,
      LOG_PRETTY: 'false',
      LOG_LEVEL: 'warn',
      REDIS_URL: undefined,
      // A shared broker would get queues under the production prefix that outlive the run.
      AMQP_URL: undefined,
      MQTT_URL: undefined,
      // The script logs in more often per minute than the login limit allows one address.
      RATE_LIMITS_ENABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      CARSHARE_CONFIG: undefined,
      // As production should run: the signing keys `migrate` creates are sealed, and the user
      // service must open them to sign every token this test uses.
      USER_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    };
    // PostgreSQL: migrate, then create the operator, as child processes; meanwhile the embedded
    // platform starts in this process and gets the same operator the way `admin create` makes one
    // (a third CLI process would cost ~2.5 s of CPU for the same call).
    const onPostgres = (async () => {
      const migrated = await cli(['migrate'], cliEnv);
      assert.equal(migrated.code, 0, `migrate failed:\n${migrated.stderr}`);
      assert.match(migrated.stdout, /user schema is up to date/);
      const created = await cli(adminCreate, cliEnv);
      assert.equal(created.code, 0, `admin create failed:\n${created.stderr}`);
      assert.match(created.stdout, /^carshare: created operator ops-e2e@example\.com \([0-9a-f-]{36}\)$/m);
    })();
    const onPglite = (async () => {
      embedded = await startTestPlatform();
      await embedded.platform.module(userDescriptor).users.createAccount({ email: operator.email, password: operator.password, displayName: operator.name, role: 'operator', plan: 'unlimited' });
    })();
    const [postgresResult, pgliteResult] = await Promise.allSettled([onPostgres, onPglite]);
    if (postgresResult.status === 'rejected') throw postgresResult.reason;
    if (pgliteResult.status === 'rejected') throw pgliteResult.reason;
    phase('migrate + admin create (PostgreSQL) ∥ embedded platform + operator (PGlite)');

    const userPort = await freePort();
    const tripPort = await freePort();
    const gatewayPort = await freePort();
    const userUrl = `http://127.0.0.1:${userPort}`;
    const tripUrl = `http://127.0.0.1:${tripPort}`;
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // /v1/me is the account and the rider's active reservation and trip: the trip service answers
    // that part, as the embedded platform's trip module does.
    const starting = [
      spawnService({ name: 'user', args: ['service', 'user'], env: { ...cliEnv, USER_HOST: '127.0.0.1', USER_PORT: String(userPort) }, readyUrl: userUrl }),
      spawnService({ name: 'trip', args: ['service', 'trip'], env: { ...cliEnv, TRIP_HOST: '127.0.0.1', TRIP_PORT: String(tripPort), USER_URL: userUrl }, readyUrl: tripUrl }),
      spawnService({ name: 'gateway', args: ['service', 'gateway'], env: { ...cliEnv, DATABASE_URL: undefined, GATEWAY_HOST: '127.0.0.1', PORT: String(gatewayPort), USER_URL: userUrl, TRIP_URL: tripUrl }, readyUrl: gatewayUrl }),
    ];
    // Whatever happens next, anything that did start gets stopped in after().
    const results = await Promise.allSettled(starting);
    for (const result of results) if (result.status === 'fulfilled') services.push(result.value);
    for (const result of results) if (result.status === 'rejected') throw result.reason;

    phase('user, trip and gateway processes ready');
  });

  after(async () => {
    await Promise.allSettled(services.map((service) => service.dispose()));
    await embedded?.close();
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
    await database?.drop();
  });

  it('the same scripted calls get the same statuses and bodies (ids, tokens, times and trace ids aside)', async (context) => {
    context.diagnostic(`start-up: ${phases.join('; ')}`);
    const distributed = await runScript(createApiClient(gatewayUrl));
    const inProcess = await runScript(embedded.api);
    assert.equal(distributed.length, inProcess.length);
    for (const [index, step] of distributed.entries()) {
      assert.deepEqual(step, inProcess[index], `step ${index + 1} "${step.step}" differs between PostgreSQL processes and embedded PGlite`);
    }
    // Neither side's services logged an error while answering.
    for (const service of services) {
      const errors = service.output.filter((line) => /"level":"(error|fatal)"/.test(line.text));
      assert.deepEqual(errors.map((line) => line.text), [], `${service.name} logged errors`);
    }
    assert.deepEqual(embedded.logs.errors(), []);
  });

  // `carshare migrate` ran before the user service, which migrates again as it starts: that it came
  // up on the migrated database is the idempotence check, without one more process start here.
  it('admin create refuses an email that is taken, with exit code 1 and the reason', async () => {
    const taken = await cli(adminCreate, cliEnv);
    assert.equal(taken.code, 1, `${taken.stdout}\n${taken.stderr}`);
    assert.match(taken.stderr, /EMAIL_TAKEN/);
  });
});
