import { deviceTopics } from '@carshare/contracts';
import { connectAsync, type MqttClient } from 'mqtt';
import type { DeviceConnector, DeviceLink } from '../device-link.ts';

export interface MqttDeviceOptions {
  /** mqtt://host:port of the car service's device gateway; a comma-separated list spreads devices over instances. */
  url: string;
  /** How long to wait for a CONNACK before giving up on this attempt. */
  connectTimeoutMs?: number;
  /** Between automatic reconnects when the broker goes away. */
  reconnectPeriodMs?: number;
  keepaliveSec?: number;
  /** Tries of the first connection when the broker does not answer (default 5); a refusal is not retried. */
  connectAttempts?: number;
}

/**
 * A device's MQTT connection, as a real telematics box holds one: username = its car id,
 * password = its device secret, subscribed to its own commands topic, publishing its telemetry
 * (QoS 0) and acks (QoS 1). Nothing here knows about the car service beyond the device contract.
 */
export class MqttDeviceLink implements DeviceLink {
  readonly #options: MqttDeviceOptions;
  readonly #carId: string;
  readonly #secret: string;
  readonly #onCommand: (payload: string) => void;
  #client: MqttClient | undefined;
  #closed = false;

  private constructor(options: MqttDeviceOptions, carId: string, secret: string, onCommand: (payload: string) => void) {
    this.#options = options;
    this.#carId = carId;
    this.#secret = secret;
    this.#onCommand = onCommand;
  }

  /**
   * Connects as a box does when it boots: a broker that is busy (no CONNACK in time) or not there
   * yet is tried again after a growing pause; a refused credential is final.
   */
  static async connect(options: MqttDeviceOptions, credentials: { carId: string; secret: string }, onCommand: (payload: string) => void): Promise<MqttDeviceLink> {
    const link = new MqttDeviceLink(options, credentials.carId, credentials.secret, onCommand);
    const attempts = options.connectAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        await link.reconnect();
        return link;
      } catch (error) {
        const refused = typeof (error as { code?: unknown }).code === 'number';
        if (refused || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  publish(topic: string, payload: string, qos: 0 | 1): void {
    // Fire and forget at QoS 0 is what a box does; QoS 1 is retried by the client until acked.
    this.#client?.publish(topic, payload, { qos }, () => undefined);
  }

  async disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync(true);
  }

  async reconnect(): Promise<void> {
    if (this.#closed) return;
    await this.disconnect();
    const client = await connectAsync(this.#options.url, {
      clientId: `car-${this.#carId}`,
      username: this.#carId,
      password: this.#secret,
      clean: true,
      keepalive: this.#options.keepaliveSec ?? 60,
      connectTimeout: this.#options.connectTimeoutMs ?? 10_000,
      reconnectPeriod: this.#options.reconnectPeriodMs ?? 2_000,
      // A refused CONNECT (wrong secret) is final: do not hammer the broker with it.
      reconnectOnConnackError: false,
    });
    // The ack of a command is a PUBACK and a PUBLISH written back to back: with Nagle's algorithm
    // the second waited for the broker's delayed ACK, 40 ms on every unlock and lock. Each
    // automatic reconnect brings a new socket.
    disableNagle(client);
    client.on('connect', () => disableNagle(client));
    const commands = deviceTopics.commands(this.#carId);
    client.on('message', (topic, payload) => {
      if (topic === commands) this.#onCommand(payload.toString('utf8'));
    });
    client.on('error', () => undefined);
    try {
      const granted = await client.subscribeAsync(commands, { qos: 1 });
      if (granted.some((grant) => grant.qos > 2)) throw new Error(`the broker refused ${commands} to car ${this.#carId}`);
    } catch (error) {
      await client.endAsync(true);
      throw error;
    }
    if (this.#closed) {
      await client.endAsync(true);
      return;
    }
    this.#client = client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.disconnect();
  }
}

/**
 * Connects each device to `options.url`, or, given a comma-separated list (several car-service
 * instances, ADR 0014), to one of them chosen by the car id, as a TCP load balancer in front of
 * the instances would spread long-lived connections: the same car always lands on the same one.
 */
export function mqttDeviceConnector(options: MqttDeviceOptions): DeviceConnector {
  const urls = options.url.split(',').map((url) => url.trim()).filter((url) => url.length > 0);
  if (urls.length <= 1) return (credentials, onCommand) => MqttDeviceLink.connect(options, credentials, onCommand);
  const perUrl = urls.map((url) => ({ ...options, url }));
  return (credentials, onCommand) => MqttDeviceLink.connect(perUrl[brokerIndex(credentials.carId, perUrl.length)] as MqttDeviceOptions, credentials, onCommand);
}

/** FNV-1a of the car id, modulo the number of brokers. */
export function brokerIndex(carId: string, brokers: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < carId.length; index++) hash = Math.imul(hash ^ carId.charCodeAt(index), 0x01000193) >>> 0;
  return hash % brokers;
}

function disableNagle(client: MqttClient): void {
  (client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
}
