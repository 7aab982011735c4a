import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceIdentitySigner, laptopServiceKeys, serviceIdentityHeader } from '@carshare/platform';
import { demoAccounts } from '@carshare/user-service';
import { freePorts, runCommand, spawnService, startFaultProxy, type FaultProxy, type SpawnedService } from '@carshare/testing';
import { createApiClient, type ApiClient } from '../support/api-client.ts';
import type { DrillSettings } from './drill-settings.ts';

/**
 * The distributed topology as processes, with the fault proxy on the only path from the gateway
 * to the user service:
 *
 *   test (load) ──▶ gateway process ──USER_URL──▶ fault proxy (this process) ──▶ user process (PGlite)
 *
 * The gateway's JWKS fetch uses USER_URL too, so it crosses the proxy. It matters only for a token
 * the gateway has not verified yet while its key cache (auth.jwksCacheMs, 10 min) is cold or stale
 * (then that token is refused during an outage: see README.md): the drills log in and warm the cache
 * before any fault, and the gateway keeps each verified token, so no request in a drill needs it.
 */
export interface ChaosTopology {
  readonly gatewayUrl: string;
  /** The gateway's operations listener: its /metrics (the public port has none, ADR 0023). */
  readonly gatewayOpsUrl: string;
  readonly api: ApiClient;
  readonly proxy: FaultProxy;
  readonly gateway: SpawnedService;
  /** The user service process now running (a new one after `restartUser`). */
  user(): SpawnedService;
  /** Starts the user service again on the same port and data folder, once the old process is gone. */
  restartUser(): Promise<SpawnedService>;
  readonly riderId: string;
  readonly riderToken: string;
  readonly operatorToken: string;
  /** Byte counts of one GetUser answer from the user service: status line + headers, then body. */
  readonly userAnswerBytes: { head: number; body: number };
  /** Every line any of the processes printed, for failure messages. */
  tails(): string;
  /** Resumes a stopped user service, stops every process, closes the proxy, removes the data. */
  close(): Promise<void>;
}

/**
 * Set-up calls ask for a longer budget than the drill's 1 s default: a cold gateway's first login
 * (argon2, JIT, new connections) on a busy box can take longer, and it is not under test.
 */
export const setupBudget = { 'x-deadline-ms': '15000' } as const;

// Variables a developer's shell may set that would point these processes at shared servers.
const isolated = { DATABASE_URL: undefined, REDIS_URL: undefined, AMQP_URL: undefined, MQTT_URL: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, CARSHARE_CONFIG: undefined };

async function login(api: ApiClient, account: { email: string; password: string }): Promise<{ token: string; userId: string }> {
  const response = await api.call('POST', '/v1/auth/login', { body: { email: account.email, password: account.password }, headers: setupBudget });
  if (response.status !== 200) throw new Error(`login of ${account.email} answered ${response.status}: ${response.text}`);
  return { token: response.body.tokens.accessToken as string, userId: response.body.user.id as string };
}

/**
 * One RPC answer read byte by byte off a raw socket, so close-mid-response can cut inside the
 * body: a cut in the headers is a plain socket error, a cut in the body arrives after a 200.
 */
async function measureUserAnswer(port: number, operatorId: string, userId: string): Promise<{ head: number; body: number }> {
  const body = JSON.stringify({ userId });
  // Asked as the gateway asks it (ADR 0012): the user service derives the same laptop keys.
  const identity = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('user', { userId: operatorId, role: 'operator', plan: 'unlimited' });
  const request = [
    'POST /rpc/user/GetUser HTTP/1.1',
    `host: 127.0.0.1:${port}`,
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    `${serviceIdentityHeader}: ${identity}`,
    'x-deadline-ms: 2000',
    'connection: close',
    '',
    body,
  ].join('\r\n');
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer to the measuring GetUser')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
    // Not end(): the server would take the half-close for an abandoned request and not answer.
    socket.write(request);
  });
  const head = raw.indexOf('\r\n\r\n') + 4;
  if (head < 4 || !raw.subarray(0, 12).toString('latin1').includes(' 200')) {
    throw new Error(`measuring GetUser did not answer 200: ${raw.subarray(0, 200).toString('latin1')}`);
  }
  return { head, body: raw.length - head };
}

export async function startChaosTopology(settings: DrillSettings): Promise<ChaosTopology> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carshare-chaos-'));
  const pgDir = join(dataDir, 'pg');
  const configFile = join(dataDir, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      http: { defaultDeadlineMs: settings.deadlineMs },
      rateLimits: { enabled: false },
      resilience: { user: { breaker: settings.breaker } },
    }),
  );
  const started: SpawnedService[] = [];
  let proxy: FaultProxy | undefined;
  let user: SpawnedService | undefined;

  async function closeAll(): Promise<void> {
    // A stopped process cannot handle SIGTERM: resume it first so dispose is quick.
    if (user && user.pid > 0) {
      try {
        process.kill(user.pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await Promise.all(started.map((service) => service.dispose()));
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  try {
    // Together: the gateway answers before its operations port listens, and the user service
    // starts beside it, so ports asked for one at a time could come back twice.
    const [userPort, gatewayPort, gatewayOpsPort] = (await freePorts(3)) as [number, number, number];
    const userUrl = `http://127.0.0.1:${userPort}`;
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const gatewayOpsUrl = `http://127.0.0.1:${gatewayOpsPort}`;
    proxy = await startFaultProxy({ target: { port: userPort } });
    const userEnv = { ...isolated, LOG_LEVEL: 'warn', CARSHARE_DATA_DIR: pgDir, USER_PORT: String(userPort) };
    const startUser = async (): Promise<SpawnedService> => {
      const service = await spawnService({ name: 'user', args: ['service', 'user'], env: userEnv, readyUrl: userUrl });
      started.push(service);
      user = service;
      return service;
    };

    // The gateway reaches the user service only when called, so both start side by side; the
    // demo accounts go in first because one PGlite folder has one process at a time.
    const [gateway] = await Promise.all([
      spawnService({
        name: 'gateway',
        args: ['service', 'gateway'],
        // info: the breaker logs half-open and closed at info, and the report wants every transition.
        env: { ...isolated, LOG_LEVEL: 'info', PORT: String(gatewayPort), GATEWAY_OPS_PORT: new URL(gatewayOpsUrl).port, USER_URL: proxy.url, CARSHARE_CONFIG: configFile, RATE_LIMITS_ENABLED: 'false' },
        readyUrl: gatewayUrl,
      }).then((service) => {
        started.push(service);
        return service;
      }),
      (async () => {
        const seeded = await runCommand({ args: ['seed'], env: { ...userEnv, USER_PORT: undefined }, timeoutMs: 60_000 });
        if (seeded.code !== 0) throw new Error(`carshare seed failed (${seeded.code}):\n${seeded.stderr}`);
        await startUser();
      })(),
    ]);

    const api = createApiClient(gatewayUrl);
    const rider = await login(api, demoAccounts.rider);
    const operator = await login(api, demoAccounts.operator);
    // Warm-up: the JWKS is fetched, both tokens verified and kept, and the rider's account is
    // remembered as the last good answer, which /v1/me serves (marked stale) during faults.
    for (const [path, token] of [['/v1/me', rider.token], ['/v1/admin/faults', operator.token]] as const) {
      const response = await api.call('GET', path, { token, headers: setupBudget });
      if (response.status !== 200) throw new Error(`warm-up ${path} answered ${response.status}: ${response.text}`);
    }
    const userAnswerBytes = await measureUserAnswer(userPort, operator.userId, rider.userId);

    const liveProxy = proxy;
    return {
      gatewayUrl,
      gatewayOpsUrl,
      api,
      proxy: liveProxy,
      gateway,
      user: () => user as SpawnedService,
      async restartUser() {
        const old = user as SpawnedService;
        await old.exited;
        return startUser();
      },
      riderId: rider.userId,
      riderToken: rider.token,
      operatorToken: operator.token,
      userAnswerBytes,
      tails: () => started.map((service) => `── ${service.name} (pid ${service.pid}) ──\n${service.tail(30)}`).join('\n'),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
