import { createServer, type AddressInfo, type Server } from 'node:net';
import { CommandAck, MAX_DEVICE_PAYLOAD_BYTES, deviceTopics, parseDeviceTopic, type DeviceCommand } from '@carshare/contracts';
import { isUuid } from '@carshare/platform';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { Compile } from 'typebox/compile';
import type { DeviceCredential } from '../ports.ts';
import { guardMqttPacketSize } from './mqtt-packet-size-guard.ts';

const ackCheck = Compile(CommandAck);

/** Why the gateway refused a device: the label of `carshare_car_device_refusals_total`. */
export type DeviceRefusal =
  | 'bad_credential'
  | 'publish_not_allowed'
  | 'subscribe_not_allowed'
  /** A publish whose payload is over MAX_DEVICE_PAYLOAD_BYTES but whose packet fits the socket cap. */
  | 'payload_too_large'
  /** A packet over `maxPacketBytes`, refused from its header at the socket: the connection is closed. */
  | 'packet_too_large'
  /** Bytes that cannot be MQTT framing (a Remaining Length longer than 4 bytes). */
  | 'malformed_packet'
  | 'malformed_ack';

export interface DeviceGatewayHandlers {
  /** The credential of a car whose secret is `secret`, or undefined (unknown car, wrong secret). */
  authenticate(carId: string, secret: string): Promise<DeviceCredential | undefined>;
  /** A promise: read nothing more from this device until it settles (backpressure). */
  telemetry(credential: DeviceCredential, payload: Buffer): Promise<void> | undefined;
  ack(credential: DeviceCredential, ack: CommandAck): void;
  refused(reason: DeviceRefusal, carId: string | undefined): void;
  connected?(carId: string): void;
}

export interface DeviceGatewayOptions {
  host: string;
  /** 0: any free port (tests). */
  port: number;
  /**
   * Largest MQTT packet (Remaining Length) a connection may send; one larger closes the connection
   * from its header, before its body is read. Default: a full-size device payload plus room for
   * the topic and MQTT 5 properties.
   */
  maxPacketBytes?: number;
}

export const defaultMaxPacketBytes = MAX_DEVICE_PAYLOAD_BYTES + 1024;

function authError(): AuthenticateError {
  const error = new Error('bad username or password') as AuthenticateError;
  error.returnCode = 4; // BAD_USERNAME_OR_PASSWORD
  return error;
}

/**
 * The MQTT endpoint devices connect to: an in-process aedes broker on a TCP port. It decides who
 * a device is (username = car id, password = device secret) and what it may do: publish only to
 * its own `cars/<id>/telemetry` and `cars/<id>/acks`, subscribe only to its own
 * `cars/<id>/commands`. Everything else is refused, counted, and the connection closed. What a
 * device publishes is handed to the service, never to other devices.
 */
export class AedesDeviceGateway {
  readonly #handlers: DeviceGatewayHandlers;
  readonly #options: DeviceGatewayOptions;
  readonly #credentials = new WeakMap<Client, DeviceCredential>();
  #broker: Aedes | undefined;
  #server: Server | undefined;

  constructor(handlers: DeviceGatewayHandlers, options: DeviceGatewayOptions) {
    this.#handlers = handlers;
    this.#options = options;
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get connectedDevices(): number {
    return this.#broker?.connectedClients ?? 0;
  }

  async start(): Promise<void> {
    const handlers = this.#handlers;
    const credentials = this.#credentials;
    const broker = await Aedes.createBroker({
      // A device that does not finish CONNECT within this is dropped (slowloris at the door).
      connectTimeout: 10_000,
      authenticate: (client, username, password, done) => {
        const carId = username ?? '';
        const secret = password?.toString('utf8') ?? '';
        if (!isUuid(carId) || secret.length === 0 || secret.length > 200) {
          handlers.refused('bad_credential', undefined);
          done(authError(), false);
          return;
        }
        handlers.authenticate(carId.toLowerCase(), secret).then(
          (credential) => {
            if (!credential) {
              handlers.refused('bad_credential', carId);
              done(authError(), false);
              return;
            }
            credentials.set(client, credential);
            done(null, true);
          },
          () => done(Object.assign(new Error('server unavailable'), { returnCode: 3 as const }), false),
        );
      },
      authorizePublish: (client, packet, done) => {
        const credential = client ? credentials.get(client) : undefined;
        const topic = parseDeviceTopic(packet.topic);
        if (!credential || !topic || topic.carId !== credential.carId || topic.channel === 'commands') {
          handlers.refused('publish_not_allowed', credential?.carId);
          done(new Error('publish not allowed'));
          return;
        }
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        if (payload.byteLength > MAX_DEVICE_PAYLOAD_BYTES) {
          handlers.refused('payload_too_large', credential.carId);
          done(new Error('payload too large'));
          return;
        }
        // Retained device messages would be replayed to whoever subscribes later: never keep them.
        packet.retain = false;
        if (topic.channel === 'acks') {
          this.#ack(credential, payload);
          done(null);
          return;
        }
        const writable = handlers.telemetry(credential, payload);
        if (!writable) {
          done(null);
          return;
        }
        // Ingest is behind: this connection's next packets stay in its socket (TCP slows the
        // device down) until it has caught up. aedes has pause/resume for this (untyped): a held
        // `done` alone does not stop it reading when more bytes arrive.
        const flow = client as unknown as { pause(): void; resume(): void };
        flow.pause();
        const resume = (): void => {
          done(null);
          flow.resume();
        };
        writable.then(resume, resume);
      },
      authorizeSubscribe: (client, subscription, done) => {
        const credential = credentials.get(client);
        if (!credential || subscription.topic !== deviceTopics.commands(credential.carId)) {
          handlers.refused('subscribe_not_allowed', credential?.carId);
          done(new Error('subscribe not allowed'));
          return;
        }
        done(null, subscription);
      },
      // Device-to-device traffic does not exist: what devices publish stops at the gateway.
      authorizeForward: (client, packet) => {
        const credential = credentials.get(client);
        return credential && packet.topic === deviceTopics.commands(credential.carId) ? packet : null;
      },
    });
    broker.on('clientReady', (client) => {
      const credential = credentials.get(client);
      if (credential) handlers.connected?.(credential.carId);
    });
    this.#broker = broker;
    const maxPacketBytes = this.#options.maxPacketBytes ?? defaultMaxPacketBytes;
    const server = createServer((socket) => {
      // A command is a few dozen bytes a rider is waiting on. With Nagle's algorithm on, a small
      // write that follows an unacknowledged one waits for the peer's delayed ACK (~40 ms): the
      // simulated devices' side of this made every unlock and lock 40 ms slower (bench/README.md).
      socket.setNoDelay(true);
      broker.handle(
        guardMqttPacketSize(socket, maxPacketBytes, (refusal, connection) => {
          // aedes hangs its client on the stream it was given; absent before CONNECT was read.
          const client = (connection as { client?: Client }).client;
          const carId = client ? credentials.get(client)?.carId : undefined;
          handlers.refused(refusal.kind === 'too_large' ? 'packet_too_large' : 'malformed_packet', carId);
        }),
      );
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  /** Delivers a command to the car's device if it is connected here (QoS 1). */
  deliver(carId: string, command: DeviceCommand): Promise<void> {
    const broker = this.#broker;
    if (!broker) return Promise.resolve();
    return new Promise((resolve, reject) => {
      broker.publish(
        { cmd: 'publish', topic: deviceTopics.commands(carId), payload: Buffer.from(JSON.stringify(command)), qos: 1, retain: false, dup: false },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  async close(): Promise<void> {
    const server = this.#server;
    const broker = this.#broker;
    this.#server = undefined;
    this.#broker = undefined;
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #ack(credential: DeviceCredential, payload: Buffer): void {
    let ack: unknown;
    try {
      ack = JSON.parse(payload.toString('utf8'));
    } catch {
      ack = undefined;
    }
    if (!ackCheck.Check(ack)) {
      this.#handlers.refused('malformed_ack', credential.carId);
      return;
    }
    this.#handlers.ack(credential, ack);
  }
}
