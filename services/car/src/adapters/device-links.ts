import type { DeviceCommand } from '@carshare/contracts';
import mqtt, { type MqttClient } from 'mqtt';
import type { CommandOutcome, DeviceLink } from '../ports.ts';

/** Whatever can put a command on a device connected to this instance. */
export interface LocalDelivery {
  deliver(carId: string, command: DeviceCommand): Promise<void>;
}

type SettledListener = (commandId: string, outcome: CommandOutcome) => void;

/**
 * One instance (the embedded topology): every device is connected to this process's gateway,
 * and whoever waits for a command waits here.
 */
export class LocalDeviceLink implements DeviceLink {
  readonly #delivery: LocalDelivery;
  readonly #listeners: SettledListener[] = [];

  constructor(delivery: LocalDelivery) {
    this.#delivery = delivery;
  }

  sendCommand(carId: string, command: DeviceCommand): Promise<void> {
    return this.#delivery.deliver(carId, command);
  }

  async announceSettled(commandId: string, outcome: CommandOutcome): Promise<void> {
    for (const listener of this.#listeners) listener(commandId, outcome);
  }

  onSettled(listener: SettledListener): void {
    this.#listeners.push(listener);
  }
}

export interface MqttBackplaneOptions {
  url: string;
  /** Topic prefix on the shared broker: instances of one deployment share it (tests use one per run). */
  prefix: string;
  clientId: string;
}

/**
 * Several car-service instances (ADR 0014): a device is connected to one instance's gateway, while
 * the Unlock call may arrive at another. The instances meet on an internal MQTT broker
 * (`MQTT_URL`, Mosquitto): a command is published to `<prefix>/commands/<carId>`, every instance
 * delivers it to the device if that device is connected to it; a settled outcome is published to
 * `<prefix>/settled` and the instance that waits answers its caller. Devices never connect to this
 * broker, so its auth and ACL are not the devices' gate.
 */
export class MqttBackplaneDeviceLink implements DeviceLink {
  readonly #delivery: LocalDelivery;
  readonly #options: MqttBackplaneOptions;
  readonly #listeners: SettledListener[] = [];
  #client: MqttClient | undefined;

  constructor(delivery: LocalDelivery, options: MqttBackplaneOptions) {
    this.#delivery = delivery;
    this.#options = options;
  }

  async start(onError: (error: unknown) => void): Promise<void> {
    const { prefix } = this.#options;
    const client = await mqtt.connectAsync(this.#options.url, { clientId: this.#options.clientId, clean: true, reconnectPeriod: 1000 });
    this.#client = client;
    client.on('error', onError);
    client.on('message', (topic, payload) => {
      try {
        if (topic === `${prefix}/settled`) {
          const { commandId, outcome } = JSON.parse(payload.toString('utf8')) as { commandId: string; outcome: CommandOutcome };
          for (const listener of this.#listeners) listener(commandId, outcome);
          return;
        }
        const carId = topic.slice(`${prefix}/commands/`.length);
        this.#delivery.deliver(carId, JSON.parse(payload.toString('utf8')) as DeviceCommand).catch(onError);
      } catch (error) {
        onError(error);
      }
    });
    await client.subscribeAsync([`${prefix}/settled`, `${prefix}/commands/+`], { qos: 1 });
  }

  async sendCommand(carId: string, command: DeviceCommand): Promise<void> {
    await this.#requireClient().publishAsync(`${this.#options.prefix}/commands/${carId}`, JSON.stringify(command), { qos: 1 });
  }

  async announceSettled(commandId: string, outcome: CommandOutcome): Promise<void> {
    await this.#requireClient().publishAsync(`${this.#options.prefix}/settled`, JSON.stringify({ commandId, outcome }), { qos: 1 });
  }

  onSettled(listener: SettledListener): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync();
  }

  #requireClient(): MqttClient {
    if (!this.#client) throw new Error('the device backplane is not connected');
    return this.#client;
  }
}
