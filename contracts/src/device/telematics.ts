import { Type, type Static } from 'typebox';

/**
 * What a car's telematics box and the platform say to each other over MQTT (or, for telemetry
 * only, over `POST /v1/devices/telemetry`). A device simulator and the car service's device
 * gateway both build on these schemas, so neither can drift from the other.
 *
 * Topics (one car = one device; `<carId>` is the car's UUID):
 * - `cars/<carId>/telemetry`: device → platform, {@link TelemetryReport} (QoS 0: a lost report is
 *   replaced by the next one a few seconds later).
 * - `cars/<carId>/acks`: device → platform, {@link CommandAck} (QoS 1).
 * - `cars/<carId>/commands`: platform → device, {@link DeviceCommand} (QoS 1; the device subscribes).
 *
 * Authentication at MQTT CONNECT: username = the car id, password = the device secret issued
 * when the car was created (or last rotated). A device may publish only to its own telemetry and
 * acks topics and subscribe only to its own commands topic; anything else is refused.
 * Over HTTP the same credential travels as `Authorization: Basic base64(carId:secret)`.
 *
 * Payloads are UTF-8 JSON. Times are epoch milliseconds (devices have no use for ISO strings and
 * their clocks are what they are: the platform accepts a small skew into the future).
 */

/** Version of the device protocol carried in every telemetry report. */
export const DEVICE_PROTOCOL_VERSION = 1 as const;

/** Largest MQTT payload or HTTP body the platform reads from a device; larger ones are refused unparsed. */
export const MAX_DEVICE_PAYLOAD_BYTES = 4096;

export const DeviceCarId = Type.String({ format: 'uuid', description: 'the car id; also the MQTT username' });

export const TelemetryReport = Type.Object(
  {
    v: Type.Literal(DEVICE_PROTOCOL_VERSION),
    ts: Type.Integer({ minimum: 0, description: 'when the device measured this, epoch ms' }),
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lng: Type.Number({ minimum: -180, maximum: 180 }),
    speedKph: Type.Number({ minimum: 0, maximum: 400 }),
    headingDeg: Type.Number({ minimum: 0, maximum: 360 }),
    odometerKm: Type.Number({ minimum: 0 }),
    energyPct: Type.Number({ minimum: 0, maximum: 100, description: 'battery or fuel level, percent' }),
    locked: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type TelemetryReport = Static<typeof TelemetryReport>;

export const DeviceCommandType = Type.Union([Type.Literal('lock'), Type.Literal('unlock')]);
export type DeviceCommandType = Static<typeof DeviceCommandType>;

export const DeviceCommand = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'echoed in the ack as commandId' }),
    type: DeviceCommandType,
    expiresAt: Type.Integer({ minimum: 0, description: 'epoch ms; a device must not act on the command after this' }),
  },
  { additionalProperties: false },
);
export type DeviceCommand = Static<typeof DeviceCommand>;

export const CommandAck = Type.Object(
  {
    commandId: Type.String({ format: 'uuid' }),
    ok: Type.Boolean({ description: 'true when the device carried the command out' }),
    locked: Type.Boolean({ description: 'lock state after the attempt' }),
    ts: Type.Integer({ minimum: 0, description: 'epoch ms' }),
    error: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type CommandAck = Static<typeof CommandAck>;

export type DeviceChannel = 'telemetry' | 'acks' | 'commands';

export const deviceTopics = {
  telemetry: (carId: string): string => `cars/${carId}/telemetry`,
  acks: (carId: string): string => `cars/${carId}/acks`,
  commands: (carId: string): string => `cars/${carId}/commands`,
  /** Subscription filters for the platform side (MQTT wildcards). */
  allTelemetry: 'cars/+/telemetry',
  allAcks: 'cars/+/acks',
} as const;

const topicPattern = /^cars\/([0-9a-fA-F-]{36})\/(telemetry|acks|commands)$/;

/** `cars/<carId>/<channel>` → its parts, or undefined for any other topic (wildcards included). */
export function parseDeviceTopic(topic: string): { carId: string; channel: DeviceChannel } | undefined {
  const match = topicPattern.exec(topic);
  if (!match) return undefined;
  return { carId: match[1]!.toLowerCase(), channel: match[2] as DeviceChannel };
}
