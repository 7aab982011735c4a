import type { ServiceDatabase } from '@carshare/storage';
import type { Registry } from 'prom-client';
import { DeadLetterAdmin } from './dead-letter-admin.ts';
import type { EventBus, SubscribeOptions, Subscription } from './event-bus.ts';
import { Inbox, type TransactionalEventHandler } from './inbox.ts';
import type { StructuredLogger } from '@carshare/platform';
import { Outbox } from './outbox.ts';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.ts';
import { SqlDeadLetterStore } from './sql-dead-letter-store.ts';

export interface ServiceMessagingOptions {
  /** The service's own database; its schema must have the tables (migrateMessagingTables). */
  database: ServiceDatabase;
  bus: EventBus;
  /** `engine.kind === 'postgres'`: see OutboxRelayOptions.concurrentRelays. */
  concurrentRelays: boolean;
  registry?: Registry;
  logger?: StructuredLogger;
  relay?: Partial<Pick<OutboxRelayOptions, 'batchSize' | 'idlePollMs' | 'retainSentMs' | 'clock'>>;
  /**
   * How long the inbox remembers a handled event (default 7 days): longer than any redelivery
   * (broker retries, dead-letter replays, an outbox re-published after a crash) can come late.
   */
  retainHandledMs?: number;
}

export interface ServiceMessaging {
  /** Use inside the use case's transaction: `await messaging.outbox.add(trx, event)`. */
  readonly outbox: Outbox;
  readonly relay: OutboxRelay;
  readonly inbox: Inbox;
  readonly deadLetters: SqlDeadLetterStore;
  /** What the service's dead-letter RPC handlers call: list, get, replay, delete. */
  readonly deadLetterAdmin: DeadLetterAdmin;
  /**
   * Subscribes an idempotent consumer: `handler(event, trx, context)` runs in a transaction with
   * the inbox row, and exhausted events land in this service's dead_letter table.
   */
  subscribe(group: string, topics: readonly string[], handler: TransactionalEventHandler, options?: Omit<SubscribeOptions, 'deadLetters'>): Promise<Subscription>;
  /** Starts the outbox relay, whose loop also purges old sent outbox rows and old inbox rows. */
  start(): void;
  /** Closes this service's subscriptions and stops the relay (the bus itself stays open). */
  stop(): Promise<void>;
}

/**
 * The messaging pieces one service needs, wired to its schema. Builds objects only; the I/O
 * (migrations, relay, subscriptions) happens in start() and subscribe(), called from main.
 */
export function createServiceMessaging(options: ServiceMessagingOptions): ServiceMessaging {
  const { database, bus, registry, logger } = options;
  const outbox = new Outbox(database.schema);
  const inbox = new Inbox({ database, registry });
  const retainHandledMs = options.retainHandledMs ?? 7 * 24 * 60 * 60 * 1000;
  const relay = new OutboxRelay({
    database,
    bus,
    outbox,
    concurrentRelays: options.concurrentRelays,
    registry,
    logger,
    housekeeping: [(now) => inbox.purge(new Date(now.getTime() - retainHandledMs))],
    ...options.relay,
  });
  const deadLetters = new SqlDeadLetterStore({ database, registry });
  const deadLetterAdmin = new DeadLetterAdmin({ store: deadLetters, bus });
  const subscriptions: Subscription[] = [];
  return {
    outbox,
    relay,
    inbox,
    deadLetters,
    deadLetterAdmin,
    async subscribe(group, topics, handler, subscribeOptions) {
      const subscription = await bus.subscribe(group, topics, inbox.handler(handler), { ...subscribeOptions, deadLetters });
      subscriptions.push(subscription);
      return subscription;
    },
    start() {
      relay.start();
    },
    async stop() {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
      await relay.stop();
    },
  };
}
