import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPlatform, type EmbeddedPlatform, type EmbeddedPlatformOptions } from '@carshare/cli';
import { createApiClient, type ApiClient } from './api-client.ts';
import { LogCapture } from './log-capture.ts';

export interface TestPlatform {
  platform: EmbeddedPlatform;
  api: ApiClient;
  logs: LogCapture;
  dataDir: string;
  /** Stops every module (flushing traces) and removes the data folder. */
  close(): Promise<void>;
}

/**
 * Variables hidden while the platform starts: config reads them, and they would point this run at
 * a PostgreSQL database, Redis counters, RabbitMQ queues or an MQTT broker (under the production `carshare`
 * prefix, left behind after the run) that other runs on the same server share.
 */
const sharedInfrastructure = ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL', 'MQTT_URL'] as const;

/** Always set while the platform starts: listeners besides the gateway take a free port, so test files run side by side. */
const freePorts = { CAR_MQTT_PORT: '0' } as const;

/**
 * Set while the platform starts. Rate limits are off unless a test asks for them: these suites
 * send hundreds of calls from one address on purpose, and limits have tests of their own.
 */
const testSettings = { RATE_LIMITS_ENABLED: 'false' } as const;

/**
 * The user service's own per-client-address throttles (ADR 0017), off with the gateway's for the
 * same reason: the gateway now hands it the client's address, and every call here comes from
 * 127.0.0.1. Its per-account and per-device throttles stay on.
 */
const perAddressThrottlesOff = { 'throttle.ip.freeFailures': 1_000_000, 'throttle.signupPerIp.freeFailures': 1_000_000 } as const;

/**
 * The embedded platform on PGlite in a fresh temp folder, gateway on a free port, logs captured
 * instead of printed, and no shared infrastructure (see above), so parallel runs cannot meet.
 */
export async function startTestPlatform(
  options: Omit<EmbeddedPlatformOptions, 'dataDir' | 'gatewayPort'> & {
    /** Keep the gateway's rate limits on (they are off by default here). */
    rateLimits?: boolean;
  } = {},
): Promise<TestPlatform> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carshare-e2e-'));
  const logs = new LogCapture();
  const { rateLimits, ...platformOptions } = options;
  const touched = [...sharedInfrastructure, ...Object.keys(testSettings), ...Object.keys(freePorts)];
  const saved = touched.map((name) => [name, process.env[name]] as const);
  for (const name of sharedInfrastructure) delete process.env[name];
  Object.assign(process.env, freePorts);
  if (!rateLimits) Object.assign(process.env, testSettings);
  let platform: EmbeddedPlatform;
  try {
    const overrides = rateLimits ? platformOptions.overrides : { ...platformOptions.overrides, user: { ...perAddressThrottlesOff, ...platformOptions.overrides?.user } };
    platform = await startEmbeddedPlatform({ logLevel: 'warn', logDestination: logs, ...platformOptions, overrides, gatewayPort: 0, dataDir });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    platform,
    api: createApiClient(platform.gatewayUrl),
    logs,
    dataDir,
    close: () =>
      (closing ??= platform.close().finally(() => {
        rmSync(dataDir, { recursive: true, force: true });
      })),
  };
}
