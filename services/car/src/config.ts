import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4002;

export const CarConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  messaging: MessagingConfig,
  log: LogConfig,
  tracing: TracingConfig,
  devices: Type.Object({
    /** Where devices connect over MQTT (the aedes gateway). Loopback by default; 0 = any free port. */
    mqttHost: Type.String({ default: '127.0.0.1' }),
    mqttPort: Type.Integer({ minimum: 0, maximum: 65535, default: 1884 }),
    /**
     * Largest MQTT packet a device connection may send; a larger one is refused from its header and
     * the connection closed, so nobody can make the gateway buffer MQTT's 256 MB. It must leave room
     * for a full report (MAX_DEVICE_PAYLOAD_BYTES, 4 KB) plus its topic.
     */
    maxPacketBytes: Type.Integer({ minimum: 4_096 + 256, maximum: 1_048_576, default: 4_096 + 1_024 }),
    /**
     * An internal MQTT broker (Mosquitto) that links several car-service instances (ADR 0014):
     * commands and settled outcomes travel over it. Unset: one instance, linked in process.
     */
    backplaneUrl: Type.Optional(Type.String({ minLength: 1 })),
    backplanePrefix: Type.String({ default: 'carshare/car-gateway', pattern: '^[A-Za-z0-9_/-]+$' }),
    /**
     * Key of the device-secret HMAC (see hmac-device-secrets.ts). Set it in every deployment and
     * keep it out of the database; the laptop default only keeps demo cars working across restarts.
     */
    secretPepper: Type.String({ minLength: 16, default: 'carshare-laptop-device-pepper' }),
    /** Token a Traccar server sends (forward.header "Authorization: Bearer …"); unset: Traccar ingest refused. */
    traccarToken: Type.Optional(Type.String({ minLength: 16 })),
    /** How long a device has to acknowledge lock/unlock. */
    commandTimeoutMs: Type.Integer({ minimum: 500, maximum: 60_000, default: 10_000 }),
  }),
  telemetry: Type.Object({
    /** Reports per car per second allowed on average, and at once. */
    perCarPerSecond: Type.Integer({ minimum: 1, default: 2 }),
    perCarBurst: Type.Integer({ minimum: 1, default: 10 }),
    maxFutureSkewMs: Type.Integer({ minimum: 0, default: 30_000 }),
    maxAgeMs: Type.Integer({ minimum: 1000, default: 3_600_000 }),
    /** At most one car.telemetry event per car per this interval. */
    eventIntervalMs: Type.Integer({ minimum: 0, default: 10_000 }),
    /** A parked car repeating the same report gets a car.telemetry event this often (else only on change). */
    eventHeartbeatMs: Type.Integer({ minimum: 0, default: 300_000 }),
    flushIntervalMs: Type.Integer({ minimum: 1, default: 100 }),
    /** Reports per write: one PGlite call holds the event loop for the whole batch. */
    maxBatch: Type.Integer({ minimum: 1, maximum: 5000, default: 250 }),
    /** A moving car's row (its last position) is written at most this often; every report is still judged and counted. */
    rowMinIntervalMs: Type.Integer({ minimum: 0, default: 5_000 }),
    /** A parked car repeating itself refreshes its row this often (capped at a quarter of sweeper.offlineAfterMs). */
    rowHeartbeatMs: Type.Integer({ minimum: 0, default: 30_000 }),
    /** History points: one when the car moved this far, its odometer or lock changed, or… */
    historyMinMoveM: Type.Number({ minimum: 0, default: 10 }),
    /** …this long after the last one. */
    historyHeartbeatMs: Type.Integer({ minimum: 0, default: 60_000 }),
    /** Reports accepted but not written beyond which the MQTT gateway reads devices more slowly. */
    maxBacklog: Type.Integer({ minimum: 1, default: 5_000 }),
    /** History kept per car (trip distance needs the points of a trip). */
    historyRetentionMs: Type.Integer({ minimum: 60_000, default: 7 * 24 * 3_600_000 }),
  }),
  /** Nearby search in memory (ADR 0015). */
  nearby: Type.Object({
    /** How often the tree is rebuilt over the cars' current positions (in memory). */
    rebuildIntervalMs: Type.Integer({ minimum: 100, default: 1_000 }),
    /** On PostgreSQL (several instances), how often every car is reloaded from the database. */
    reloadIntervalMs: Type.Integer({ minimum: 1000, default: 5_000 }),
    /** How far a car may move between rebuilds and still be found (its current position decides). */
    slackM: Type.Integer({ minimum: 0, default: 500 }),
  }),
  sweeper: Type.Object({
    intervalMs: Type.Integer({ minimum: 100, default: 30_000 }),
    /** An available car silent this long is offline. */
    offlineAfterMs: Type.Integer({ minimum: 1000, default: 5 * 60_000 }),
  }),
});

export type CarConfig = Static<typeof CarConfigSchema>;

/** How the car service's config is read: CAR_HOST, CAR_PORT, and the common variables. */
export const carConfigShape = {
  envPrefix: 'CAR',
  defaultPort,
  configSchema: CarConfigSchema,
  envMap: {
    CAR_MQTT_HOST: 'devices.mqttHost',
    CAR_MQTT_PORT: 'devices.mqttPort',
    CAR_MQTT_MAX_PACKET_BYTES: 'devices.maxPacketBytes',
    MQTT_URL: 'devices.backplaneUrl',
    CAR_MQTT_BACKPLANE_PREFIX: 'devices.backplanePrefix',
    CAR_DEVICE_SECRET_PEPPER: 'devices.secretPepper',
    CAR_TRACCAR_TOKEN: 'devices.traccarToken',
    CAR_COMMAND_TIMEOUT_MS: 'devices.commandTimeoutMs',
    CAR_OFFLINE_AFTER_MS: 'sweeper.offlineAfterMs',
  },
} as const satisfies ServiceConfigShape<typeof CarConfigSchema>;

export function loadCarConfig(overrides: Record<string, unknown> = {}): CarConfig {
  return loadServiceConfig(carConfigShape, overrides);
}
