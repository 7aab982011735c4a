import { timingSafeEqual } from 'node:crypto';
import { InvalidArgument, ResourceExhausted, Unauthenticated, isUuid } from '@carshare/platform';
import { mapTraccarPosition } from './domain/traccar.ts';
import type { TelemetryRejection } from './domain/telemetry.ts';
import type { CarStore, DeviceCredential, DeviceSecrets } from './ports.ts';
import type { IngestResult, TelemetryIngest } from './telemetry-ingest.ts';

export interface DeviceIngressDeps {
  cars: CarStore;
  secrets: DeviceSecrets;
  telemetry: TelemetryIngest;
  /** The token a Traccar server presents; undefined refuses Traccar ingest. */
  traccarToken: string | undefined;
  onRejected(reason: TelemetryRejection): void;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function answer(result: IngestResult): { accepted: true } {
  if (result.ok) return { accepted: true };
  if (result.reason === 'rate_limited') {
    throw ResourceExhausted('TELEMETRY_RATE_LIMITED', 'this car reports too often', { reason: result.reason, retryAfterMs: 1000 });
  }
  throw InvalidArgument('TELEMETRY_REJECTED', `the report was rejected: ${result.reason}`, { reason: result.reason });
}

/**
 * Who a device is, and what it sent over HTTP (devices without MQTT, Traccar forwarding): the
 * same credential check and the same pipeline as the MQTT gateway.
 */
export class DeviceIngress {
  readonly #deps: DeviceIngressDeps;

  constructor(deps: DeviceIngressDeps) {
    this.#deps = deps;
  }

  /** The car's credential when `secret` is its device secret; undefined for anything else. */
  async authenticate(carId: string, secret: string): Promise<DeviceCredential | undefined> {
    if (!isUuid(carId)) return undefined;
    const credential = await this.#deps.cars.findCredential(carId.toLowerCase());
    if (!credential || !this.#deps.secrets.matches(secret, credential.secretHash)) return undefined;
    return credential;
  }

  async ingestHttp(input: { carId: string; secret: string; report: unknown }): Promise<{ accepted: true }> {
    const credential = await this.authenticate(input.carId, input.secret);
    if (!credential) {
      this.#deps.onRejected('bad_credential');
      throw Unauthenticated('DEVICE_UNAUTHENTICATED', 'unknown car or wrong device secret');
    }
    return answer(await this.#deps.telemetry.ingest(credential, input.report as object, true));
  }

  async ingestTraccar(input: { token: string; forwarded: unknown }): Promise<{ accepted: true }> {
    const expected = this.#deps.traccarToken;
    if (expected === undefined || !sameSecret(input.token, expected)) {
      this.#deps.onRejected('bad_credential');
      throw Unauthenticated('DEVICE_UNAUTHENTICATED', 'unknown Traccar token');
    }
    const uniqueId = (input.forwarded as { device?: { uniqueId?: unknown } } | null)?.device?.uniqueId;
    const credential = typeof uniqueId === 'string' ? await this.#deps.cars.findCredentialByTracker(uniqueId) : undefined;
    if (!credential) {
      this.#deps.onRejected('unknown_car');
      throw InvalidArgument('UNKNOWN_TRACKER', 'no car has this tracker id', { uniqueId: typeof uniqueId === 'string' ? uniqueId : null });
    }
    const car = await this.#deps.cars.find(credential.carId);
    const mapped = mapTraccarPosition(input.forwarded, {
      locked: credential.locked,
      energyPct: car?.energyPct ?? 0,
      odometerKm: credential.odometerKm,
    });
    if (!mapped.ok) {
      this.#deps.onRejected(mapped.reason);
      throw InvalidArgument('TELEMETRY_REJECTED', 'not a Traccar position forward', { reason: mapped.reason });
    }
    return answer(await this.#deps.telemetry.ingest(credential, mapped.report, true));
  }
}
