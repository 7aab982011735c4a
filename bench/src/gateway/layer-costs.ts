import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { startEmbeddedPlatform } from '@carshare/cli';
import { laptopServiceKeys, serviceIdentityHeader, ServiceIdentitySigner } from '@carshare/platform';
import { demoAccounts, seedDemoData, userDescriptor } from '@carshare/user-service';
import { sql } from 'kysely';
import Fastify from 'fastify';
import { Pool } from 'undici';
import type { BenchmarkRun } from '../benchmark.ts';
import { startInspectorProfiler, type InspectorProfiler } from '../inspector-profiler.ts';
import { profileFileFor } from '../profile-files.ts';
import { topologyVariables } from '../spawn-child-server.ts';
import { writeBenchGatewayConfig } from './bench-gateway-config.ts';

interface LayerCost {
  layer: string;
  /** Mean wall-clock µs per call, sequential (one at a time), after a warm-up. */
  microsPerCall: number;
  /** Mean CPU µs of this process per call: unlike wall time, not inflated by waiting for a core. */
  cpuMicrosPerCall: number;
  calls: number;
}

/** Runs `call` one at a time for about `seconds`, after a warm-up: wall and CPU µs per call. */
async function timeSequential(seconds: number, call: () => Promise<unknown>): Promise<{ micros: number; cpuMicros: number; calls: number }> {
  const warmUntil = performance.now() + Math.min(1000, seconds * 300);
  while (performance.now() < warmUntil) await call();
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const until = started + seconds * 1000;
  let calls = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 20; i++) await call();
    calls += 20;
  }
  const cpu = process.cpuUsage(cpuStarted);
  return { micros: ((performance.now() - started) * 1000) / calls, cpuMicros: (cpu.user + cpu.system) / calls, calls };
}

async function json(pool: Pool, path: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }): Promise<unknown> {
  const response = await pool.request({ path, method: init.method ?? 'GET', headers: init.headers, body: init.body });
  const body = await response.body.json();
  if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * What each layer under GET /v1/me costs, one call at a time in one process: the database
 * statement alone (raw PGlite, file and memory), through kysely and the shared-session lock,
 * the use case, the RPC over HTTP, and the whole public route; plus a bare fastify→undici hop.
 * Sequential, so wall µs is latency; CPU µs is this process's CPU per call (HTTP rows include
 * the client, which runs here too), and 1e6 / CPU µs is the most calls per second one core
 * could serve: with the single PGlite session, a hard ceiling for anything that hits it.
 *
 * --profile writes one .cpuprofile per layer to bench/results/profiles (timings then include
 * the profiler's overhead); read them with bench/src/summarize-cpu-profile.ts.
 */
export const runLayerCosts: BenchmarkRun = async (options) => {
  const seconds = Math.max(1, Math.min(options.durationSec, 5));
  const startedAt = new Date();
  const profiler: InspectorProfiler | undefined = options.flags['profile'] === true ? await startInspectorProfiler() : undefined;
  const costs: LayerCost[] = [];
  const record = async (layer: string, call: () => Promise<unknown>): Promise<void> => {
    process.stderr.write(`· ${layer}\n`);
    const slug = layer.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    const { micros, cpuMicros, calls } = profiler
      ? await profiler.profile(profileFileFor('layers', slug, startedAt), () => timeSequential(seconds, call))
      : await timeSequential(seconds, call);
    costs.push({ layer, microsPerCall: micros, cpuMicrosPerCall: cpuMicros, calls });
  };

  const dataDir = await mkdtemp(join(tmpdir(), 'carshare-layers-'));
  const rawDir = await mkdtemp(join(tmpdir(), 'carshare-layers-raw-'));
  try {
    for (const [kind, location] of [['file', rawDir], ['memory', 'memory://']] as const) {
      const pglite = await PGlite.create(location);
      await pglite.exec(`create table users (id uuid primary key, email text not null unique, display_name text not null,
        role text not null, plan text not null, status text not null, suspended_reason text, created_at timestamptz not null)`);
      const id = '0195d2c4-0000-7000-8000-000000000001';
      await pglite.query(`insert into users values ($1, 'a@b.c', 'A', 'rider', 'free', 'active', null, now())`, [id]);
      await record(`PGlite select by id (raw, ${kind})`, () =>
        pglite.query('select id, email, display_name, role, plan, status, suspended_reason, created_at from users where id = $1', [id]),
      );
      await record(`PGlite select 1 (raw, ${kind})`, () => pglite.query('select 1'));
      await pglite.close();
    }

    // The platform runs in this process, so this process's environment is what it reads.
    for (const name of topologyVariables) delete process.env[name];
    process.env['CARSHARE_CONFIG'] = await writeBenchGatewayConfig(rawDir);
    const platform = await startEmbeddedPlatform({ gatewayPort: 0, dataDir, logLevel: 'warn', prettyLogs: false, logDestination: process.stderr });
    try {
      await seedDemoData(platform.module(userDescriptor).users);
      const gateway = new Pool(platform.gatewayUrl, { connections: 1 });
      const userService = new Pool(platform.urlOf('user'), { connections: 1 });
      const session = (await json(gateway, '/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: demoAccounts.rider.email, password: demoAccounts.rider.password }),
      })) as { user: { id: string }; tokens: { accessToken: string } };
      const riderId = session.user.id;
      const authorization = `Bearer ${session.tokens.accessToken}`;
      const db = platform.engine.forService('user').db;
      const caller = { userId: riderId, role: 'rider' as const, plan: 'free', token: session.tokens.accessToken };
      // The user service's RPC port answers the gateway's signed identity (ADR 0012), not the token.
      const identity = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('user', caller);

      await record('kysely findById via shared PGlite session (file)', () =>
        db.selectFrom('users').select(['id', 'email', 'display_name', 'role', 'plan', 'status', 'suspended_reason', 'created_at']).where('id', '=', riderId).executeTakeFirst(),
      );
      await record('kysely select 1 via shared PGlite session', () => sql`select 1`.execute(db));
      await record('users.getUser use case', () => platform.module(userDescriptor).users.getUser({ userId: riderId }, caller));
      await record('HTTP GET /health/live on the user service', () => json(userService, '/health/live', {}));
      await record('HTTP POST /rpc/user/GetUser (c)', () =>
        json(userService, '/rpc/user/GetUser', {
          method: 'POST',
          headers: { [serviceIdentityHeader]: identity, 'content-type': 'application/json' },
          body: JSON.stringify({ userId: riderId }),
        }),
      );
      await record('HTTP GET /v1/me via gateway (b)', () => json(gateway, '/v1/me', { headers: { authorization } }));
      await gateway.close();
      await userService.close();
    } finally {
      await platform.close();
    }

    const back = Fastify({ logger: false });
    back.post('/rpc/echo', async (request) => ({ echoed: request.body }));
    const front = Fastify({ logger: false });
    const backPool = new Pool(await back.listen({ host: '127.0.0.1', port: 0 }), { connections: 32 });
    front.get('/', async () => {
      const response = await backPool.request({ path: '/rpc/echo', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"x"}' });
      return { hop: await response.body.json() };
    });
    front.get('/hello', async () => ({ hello: 'world' }));
    const frontPool = new Pool(await front.listen({ host: '127.0.0.1', port: 0 }), { connections: 1 });
    await record('HTTP bare fastify hello', () => json(frontPool, '/hello', {}));
    await record('HTTP bare fastify→undici→fastify hop', () => json(frontPool, '/', {}));
    await front.close();
    await frontPool.close();
    await backPool.close();
    await back.close();
  } finally {
    profiler?.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(rawDir, { recursive: true, force: true });
  }

  const width = Math.max(...costs.map((cost) => cost.layer.length));
  const summary = [
    `gateway layer costs: one call at a time, ${seconds} s each, everything in this process (client time included for HTTP rows)`,
    '',
    `${'layer'.padEnd(width)}  ${'wall µs/call'.padStart(13)}  ${'CPU µs/call'.padStart(12)}  ${'calls/s at 1 core'.padStart(18)}`,
    ...costs.map(
      (cost) =>
        `${cost.layer.padEnd(width)}  ${cost.microsPerCall.toFixed(0).padStart(13)}  ${cost.cpuMicrosPerCall.toFixed(0).padStart(12)}  ` +
        `${Math.round(1e6 / cost.cpuMicrosPerCall).toLocaleString('en-US').padStart(18)}`,
    ),
    '',
    'CPU µs/call is the steadier number on a busy machine (wall time includes waiting for a core).',
  ].join('\n');
  return { results: { seconds, costs }, goals: [], summary };
};
