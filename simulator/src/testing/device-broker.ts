import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { parseDeviceTopic } from '@carshare/contracts';
import { Aedes } from 'aedes';

export interface ReceivedMessage {
  topic: string;
  payload: string;
  carId: string;
}

/**
 * An in-process MQTT broker (aedes) that holds devices to the rules the car service's gateway
 * enforces: username = car id with its secret, publish only to its own telemetry and acks,
 * subscribe only to its own commands. What devices publish is recorded; refusals are counted.
 */
export class DeviceBroker {
  readonly url: string;
  readonly received: ReceivedMessage[] = [];
  readonly refused = { connect: 0, publish: 0, subscribe: 0 };
  readonly #broker: Aedes;
  readonly #server: Server;
  readonly #secrets: Map<string, string>;
  readonly #waiters = new Set<() => void>();

  private constructor(broker: Aedes, server: Server, secrets: Map<string, string>) {
    this.#broker = broker;
    this.#server = server;
    this.#secrets = secrets;
    this.url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(secrets: ReadonlyMap<string, string>): Promise<DeviceBroker> {
    const known = new Map(secrets);
    // The hooks run after construction; they reach the instance through this box.
    const box: { self?: DeviceBroker } = {};
    const broker = await Aedes.createBroker({
      authenticate(client, username, password, done) {
        const ok = username !== undefined && password !== undefined && known.get(username) === password.toString('utf8') && client.id === `car-${username}`;
        if (!ok && box.self) box.self.refused.connect += 1;
        done(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 }), ok);
      },
      authorizePublish(client, packet, callback) {
        const topic = parseDeviceTopic(packet.topic);
        // authenticate made the client id car-<username>, so it names the car.
        const username = client?.id.replace(/^car-/, '');
        if (client && (!topic || topic.carId !== username || topic.channel === 'commands')) {
          if (box.self) box.self.refused.publish += 1;
          callback(new Error('not your topic'));
          return;
        }
        callback(null);
      },
      authorizeSubscribe(client, subscription, callback) {
        const topic = parseDeviceTopic(subscription.topic);
        if (!topic || topic.channel !== 'commands' || `car-${topic.carId}` !== client.id) {
          if (box.self) box.self.refused.subscribe += 1;
          callback(new Error('not your topic'));
          return;
        }
        callback(null, subscription);
      },
    });
    broker.on('publish', (packet, client) => {
      const self = box.self;
      if (!client || !self) return;
      const topic = parseDeviceTopic(packet.topic);
      self.received.push({ topic: packet.topic, payload: packet.payload.toString(), carId: topic?.carId ?? '' });
      for (const wake of self.#waiters) wake();
    });
    const server = createServer(broker.handle);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    box.self = new DeviceBroker(broker, server, known);
    return box.self;
  }

  setSecret(carId: string, secret: string): void {
    this.#secrets.set(carId, secret);
  }

  /** Sends a command to a car as the platform does (QoS 1). */
  async sendCommand(carId: string, command: unknown): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.#broker.publish({ cmd: 'publish', topic: `cars/${carId}/commands`, payload: Buffer.from(JSON.stringify(command)), qos: 1, retain: false, dup: false }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }

  get connectedClients(): number {
    return this.#broker.connectedClients;
  }

  /** Resolves with the first recorded message that matches (past or future), or rejects after `timeoutMs` of real time. */
  async waitFor(predicate: (message: ReceivedMessage) => boolean, timeoutMs = 5_000): Promise<ReceivedMessage> {
    const found = this.received.find(predicate);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no matching message within ${timeoutMs} ms (received ${this.received.length})`));
      }, timeoutMs);
      const check = () => {
        const match = this.received.find(predicate);
        if (!match) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(match);
      };
      this.#waiters.add(check);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
