import { backoffDelay, type BackoffPolicy, type StructuredLogger, Unavailable } from '@carshare/platform';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { describeError } from './describe-error.ts';

export interface RabbitMqConnectionOptions {
  url: string;
  /** Shown in the broker's connection list. */
  name: string;
  heartbeatSeconds: number;
  reconnect: BackoffPolicy;
  logger: StructuredLogger;
  onConnected: (connection: ChannelModel) => Promise<void>;
  onDisconnected: () => void;
}

/**
 * One AMQP connection that comes back by itself: after a broker restart or a network cut it
 * reconnects with backoff and calls `onConnected` again, where topology is re-declared and
 * consumers resubscribe. Callers wait for it (within their own deadline) instead of failing.
 */
export class RabbitMqConnection {
  readonly #options: RabbitMqConnectionOptions;
  #connection: ChannelModel | undefined;
  #waiters: Array<() => void> = [];
  #closed = false;
  #loop: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #wakeRetry: (() => void) | undefined;
  /** Why the broker blocks publishing on this connection (a memory or disk alarm), if it does. */
  #blocked: string | undefined;
  #unblockWaiters: Array<() => void> = [];

  constructor(options: RabbitMqConnectionOptions) {
    this.#options = options;
  }

  get isConnected(): boolean {
    return this.#connection !== undefined;
  }

  /** Starts connecting in the background; resolves once connected or when `timeoutMs` passes. */
  async start(timeoutMs: number): Promise<void> {
    this.#loop ??= this.#connectLoop();
    await this.current(Date.now() + timeoutMs);
  }

  /** The live connection, waiting for a reconnect until `deadline` (epoch ms). */
  async current(deadline: number): Promise<ChannelModel> {
    for (;;) {
      if (this.#closed) throw Unavailable('EVENT_BUS_CLOSED', 'the RabbitMQ connection is closed');
      if (this.#connection) return this.#connection;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw Unavailable('EVENT_BROKER_UNAVAILABLE', 'RabbitMQ is unreachable', { url: redact(this.#options.url) });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The broker's reason while it blocks this connection's publishes (`connection.blocked`). */
  get blockedReason(): string | undefined {
    return this.#blocked;
  }

  /**
   * Waits while the broker blocks publishing (a resource alarm), up to `deadline`: a publish
   * written meanwhile would sit unread in the socket, so callers wait here within their own
   * deadline and then fail Unavailable, and the outbox keeps the events.
   */
  async whenUnblocked(deadline: number): Promise<void> {
    while (this.#blocked !== undefined) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw Unavailable('EVENT_BUS_UNAVAILABLE', `RabbitMQ is blocking publishers: ${this.#blocked}`, { reason: this.#blocked });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#unblockWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** A channel whose errors are logged rather than escalated: amqplib closes the whole connection on an unheard channel error. */
  async channel(deadline: number): Promise<Channel> {
    const connection = await this.current(deadline);
    const channel = await connection.createChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: describeError(error) }, 'RabbitMQ channel closed by the broker'));
    return channel;
  }

  async confirmChannel(deadline: number): Promise<ConfirmChannel> {
    const connection = await this.current(deadline);
    const channel = await connection.createConfirmChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: describeError(error) }, 'RabbitMQ channel closed by the broker'));
    return channel;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    const connection = this.#connection;
    this.#connection = undefined;
    this.#release();
    if (connection) await connection.close().catch(() => undefined);
    await this.#loop;
  }

  async #connectLoop(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      if (this.#connection) {
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve;
        });
        continue;
      }
      try {
        const connection = await amqp.connect(withHeartbeat(this.#options.url, this.#options.heartbeatSeconds), {
          clientProperties: { connection_name: this.#options.name },
          timeout: 5000,
        });
        if (this.#closed) {
          await connection.close().catch(() => undefined);
          return;
        }
        let dropped = false;
        connection.on('error', (error: Error) => this.#options.logger.warn({ err: describeError(error) }, 'RabbitMQ connection error'));
        connection.on('close', () => {
          dropped = true;
          this.#lost(connection);
        });
        connection.on('blocked', (reason: unknown) => this.#setBlocked(connection, String(reason)));
        connection.on('unblocked', () => this.#setBlocked(connection, undefined));
        // Topology and consumers come back before anyone else may use the connection.
        try {
          await this.#options.onConnected(connection);
        } catch (error) {
          await connection.close().catch(() => undefined);
          throw error;
        }
        if (dropped) throw new Error('the connection closed while it was being set up');
        this.#connection = connection;
        if (failures > 0) this.#options.logger.info({ attempts: failures }, 'RabbitMQ connection restored');
        failures = 0;
        this.#release();
      } catch (error) {
        failures += 1;
        const delay = backoffDelay(Math.min(failures, 30), this.#options.reconnect);
        this.#options.logger.warn({ err: describeError(error), attempt: failures, delayMs: delay }, 'cannot connect to RabbitMQ; retrying');
        await new Promise<void>((resolve) => {
          this.#retryTimer = setTimeout(resolve, delay);
          this.#wakeRetry = resolve;
        });
      }
    }
  }

  #setBlocked(connection: ChannelModel, reason: string | undefined): void {
    if (this.#connection !== undefined && this.#connection !== connection) return;
    if (reason !== undefined) this.#options.logger.warn({ reason }, 'RabbitMQ blocks publishing (resource alarm); publishes wait');
    else if (this.#blocked !== undefined) this.#options.logger.info({}, 'RabbitMQ publishing unblocked');
    this.#blocked = reason;
    if (reason === undefined) this.#releaseUnblocked();
  }

  #releaseUnblocked(): void {
    const waiters = this.#unblockWaiters;
    this.#unblockWaiters = [];
    for (const wake of waiters) wake();
  }

  #lost(connection: ChannelModel): void {
    if (this.#connection !== connection) return;
    // A new connection starts unblocked; the broker says so again if the alarm persists.
    this.#blocked = undefined;
    this.#releaseUnblocked();
    this.#connection = undefined;
    if (this.#closed) return;
    this.#options.logger.warn({}, 'RabbitMQ connection lost; reconnecting');
    this.#options.onDisconnected();
    this.#wakeRetry?.();
  }

  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

// A short heartbeat notices a dead broker in seconds instead of waiting for TCP to give up.
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}
