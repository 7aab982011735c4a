import type { EventEnvelope } from '@carshare/contracts';
import { backoffDelay, type BackoffPolicy, type Clock, silentLogger, type StructuredLogger, systemClock, systemScheduler, type Scheduler } from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Registry } from 'prom-client';
import { describeError } from './describe-error.ts';
import type { EventBus } from './event-bus.ts';
import { histogramOf, messagingMetricNames, registerGaugeSource } from './messaging-metrics.ts';
import type { Outbox } from './outbox.ts';

export interface OutboxRelayOptions {
  database: ServiceDatabase;
  bus: Pick<EventBus, 'publish'>;
  /** The service's Outbox: the relay polls as soon as it is told an event was added. */
  outbox?: Outbox;
  /**
   * true (Postgres): a batch stays row-locked (FOR UPDATE SKIP LOCKED) until the broker confirms
   * and it is marked sent, so relays in several processes share the table and a relay that dies
   * releases its batch at once. false (PGlite: one process owns the data dir): read, publish,
   * and mark with the next read, without holding the single session for the length of a publish.
   */
  concurrentRelays: boolean;
  /** Default 500. */
  batchSize?: number;
  /**
   * With `concurrentRelays`: batches that may wait for the broker at once, each holding a pool
   * connection for its transaction; default 3. Events of one subject still leave in order: a
   * batch skips a subject whose earlier event another batch holds. PGlite relays run one batch.
   */
  maxBatchesInFlight?: number;
  /** Longest sleep when nothing was found; default 250 ms (wake-ups from the outbox come sooner). */
  idlePollMs?: number;
  /** Sent rows are deleted after this long; default one day. */
  retainSentMs?: number;
  /**
   * Other bounded clean-ups of the service's messaging tables (the inbox), run after the outbox's
   * own, once a minute, by whichever relay loop is running: one timer per service, not one per table.
   */
  housekeeping?: ReadonlyArray<(now: Date) => Promise<unknown>>;
  registry?: Registry;
  logger?: StructuredLogger;
  clock?: Clock;
  scheduler?: Scheduler;
}

interface OutboxRow {
  seq: number;
  subject: string;
  envelope: EventEnvelope;
}

const failureBackoff: BackoffPolicy = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.2 };
const cleanupEveryMs = 60_000;
/** After a wake-up or a published batch, poll this often (an empty poll is one indexed query) … */
const hotPollMs = 2;
/** … for this long, then back off to `idlePollMs`. */
const hotWindowMs = 1000;

/**
 * Publishes the outbox in sequence order and marks rows sent once the bus has accepted them.
 * A crash after publishing and before marking re-publishes those rows on restart: a duplicate,
 * which consumers' inboxes absorb, never a loss. On one session (PGlite) the mark rides on the
 * next poll's statement instead of a statement of its own, so that window lasts until the next
 * poll (or `stop`). Events of one subject never overtake each other,
 * also with several relays: a relay skips a subject while an earlier event of it is in another
 * relay's hands.
 */
export class OutboxRelay {
  readonly #options: OutboxRelayOptions;
  readonly #db: Kysely<any>;
  // Named with the schema in the PGlite path's poll and mark-sent: they run between other
  // services' statements all the time, and need no search_path switch so (libs/storage).
  readonly #outbox: RawBuilder<unknown>;
  readonly #logger: StructuredLogger;
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #batchSize: number;
  readonly #idlePollMs: number;
  readonly #maxBatchesInFlight: number;
  readonly #lag: { observe(seconds: number): void };
  readonly #unregisterGauge: () => void = () => {};
  #unsubscribe: () => void = () => {};
  #running: Promise<void> | undefined;
  #stopped = true;
  #sleepTimer: unknown;
  #wake: (() => void) | undefined;
  /** Counts wake-ups from the outbox, so the loop notices one that came while it was busy. */
  #wakes = 0;
  #lastCleanup = 0;
  /**
   * PGlite path: the last batch the bus accepted, not yet marked sent, and when it was accepted.
   * The next poll marks it in the same statement that reads the next batch (and skips it there):
   * every statement costs ~0.2 ms of the one thread PGlite runs on, and a separate mark was one
   * per batch, the relays' largest share of a trip after their polls.
   */
  #unmarked: { seqs: number[]; sentAt: Date } | undefined;

  constructor(options: OutboxRelayOptions) {
    this.#options = options;
    this.#db = options.database.db;
    this.#outbox = options.database.table('outbox');
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#batchSize = options.batchSize ?? 500;
    this.#idlePollMs = options.idlePollMs ?? 250;
    this.#maxBatchesInFlight = options.concurrentRelays ? Math.max(1, options.maxBatchesInFlight ?? 3) : 1;
    const schema = options.database.schema;
    if (options.registry) {
      const histogram = histogramOf(
        options.registry,
        messagingMetricNames.relayLag,
        'Seconds from an event occurring to the bus accepting it from the outbox',
        ['schema'],
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60],
      );
      this.#lag = { observe: (seconds) => histogram.observe({ schema }, seconds) };
      this.#unregisterGauge = registerGaugeSource(
        options.registry,
        messagingMetricNames.outboxPending,
        'Outbox rows not yet published, by service schema',
        ['schema'],
        async () => [{ labels: { schema }, value: await this.pending() }],
      );
    } else {
      this.#lag = { observe: () => {} };
    }
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#unsubscribe = this.#options.outbox?.onAdded(() => this.#poke()) ?? (() => {});
    this.#running = this.#loop();
  }

  /** Finishes the batch in hand, then stops for good (and leaves the metrics registry). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe();
    this.#poke();
    await this.#running;
    // A clean stop leaves nothing to publish twice.
    await this.#markUnmarked();
    this.#unregisterGauge();
  }

  /** Publishes one batch; returns how many events it published. Used by the loop and by tests. */
  async relayOnce(): Promise<number> {
    return await this.#startBatch().done;
  }

  /** Rows not yet published (a published batch whose mark waits for the next poll is not). */
  async pending(): Promise<number> {
    const published = this.#unmarked?.seqs ?? [];
    const { rows } = await sql<{ count: number }>`
      select count(*)::int as count from outbox where sent_at is null and not (seq = any(${published}::bigint[]))`.execute(this.#db);
    return Number(rows[0]?.count ?? 0);
  }

  #startBatch(): { picked: Promise<number>; done: Promise<number> } {
    if (this.#options.concurrentRelays) return this.#startLockedBatch();
    const done = this.#relayUnlocked();
    return { picked: done, done };
  }

  async #relayUnlocked(): Promise<number> {
    const unmarked = this.#unmarked;
    // The previous batch is marked by this same statement; its rows are still unsent in the
    // statement's own snapshot, so they are left out of the next batch by their seqs. Marked and
    // read in one autocommit statement: a crash before it re-publishes the previous batch, never
    // skips one, and the next batch is only ever what follows it.
    const { rows } = unmarked
      ? await sql<OutboxRow>`
          with marked as (
            update ${this.#outbox} set sent_at = ${unmarked.sentAt} where seq = any(${unmarked.seqs}::bigint[]) and sent_at is null
          )
          select seq, subject, envelope from ${this.#outbox}
          where sent_at is null and not (seq = any(${unmarked.seqs}::bigint[])) order by seq limit ${this.#batchSize}`.execute(this.#db)
      : await sql<OutboxRow>`
          select seq, subject, envelope from ${this.#outbox} where sent_at is null order by seq limit ${this.#batchSize}`.execute(this.#db);
    if (this.#unmarked === unmarked) this.#unmarked = undefined;
    if (rows.length === 0) return 0;
    await this.#publish(rows);
    this.#unmarked = { seqs: rows.map((row) => Number(row.seq)), sentAt: new Date(this.#clock.now()) };
    return rows.length;
  }

  /** Marks the batch the bus accepted last, if its mark is still waiting for a poll. */
  async #markUnmarked(): Promise<void> {
    const unmarked = this.#unmarked;
    if (!unmarked) return;
    await sql`update ${this.#outbox} set sent_at = ${unmarked.sentAt} where seq = any(${unmarked.seqs}::bigint[]) and sent_at is null`.execute(this.#db);
    if (this.#unmarked === unmarked) this.#unmarked = undefined;
  }

  /**
   * One batch in its own transaction: claim (lock and mark sent in one statement), publish, commit.
   * `picked` settles as soon as the claim is done, so the loop can look for the next batch while
   * this one waits for the broker; `done` settles when the batch is committed or rolled back.
   */
  #startLockedBatch(): { picked: Promise<number>; done: Promise<number> } {
    let reportPicked: (count: number) => void = () => {};
    const picked = new Promise<number>((resolve) => {
      reportPicked = resolve;
    });
    const done = this.#options.database
      .transaction(async (trx) => {
        const rows = await this.#claimLocked(trx);
        reportPicked(rows.length);
        if (rows.length === 0) return 0;
        // Marked sent in this same transaction, which commits only after the broker confirmed:
        // a failed publish throws and rolls the mark back, a dead process's connection drops and
        // the server rolls it back, so a row is sent_at only if the broker has the event.
        await this.#publish(rows);
        return rows.length;
      })
      .finally(() => reportPicked(0));
    return { picked, done };
  }

  /**
   * Locks the next unsent rows (skipping those another relay or batch holds), drops those whose
   * subject has an earlier unsent row outside the batch (it is in other hands and must go out
   * first), and marks the rest sent: one round trip instead of select, check and update apart,
   * which each cost a scheduling delay on a busy machine and held up the next pick-up.
   */
  async #claimLocked(trx: Kysely<any>): Promise<OutboxRow[]> {
    const sentAt = new Date(this.#clock.now());
    const { rows } = await sql<OutboxRow>`
      with candidate as (
        select seq, subject from outbox where sent_at is null
        order by seq limit ${this.#batchSize} for update skip locked
      ), ready as (
        select candidate.seq from candidate
        where not exists (
          select 1 from outbox earlier
          where earlier.sent_at is null and earlier.subject = candidate.subject and earlier.seq < candidate.seq
            and not exists (select 1 from candidate mine where mine.seq = earlier.seq)
        )
      )
      update outbox set sent_at = ${sentAt} from ready where outbox.seq = ready.seq
      returning outbox.seq, outbox.subject, outbox.envelope`.execute(trx);
    // UPDATE … RETURNING has no order of its own; the bus must get them in sequence order.
    return rows.sort((a, b) => Number(a.seq) - Number(b.seq));
  }

  async #publish(rows: OutboxRow[]): Promise<void> {
    await this.#options.bus.publish(rows.map((row) => row.envelope));
    const now = this.#clock.now();
    for (const row of rows) this.#lag.observe(Math.max(0, now - Date.parse(row.envelope.occurredAt)) / 1000);
  }

  async #loop(): Promise<void> {
    let failures = 0;
    let pauseMs = this.#idlePollMs;
    let wakesSeen = this.#wakes;
    let lastActivity = Number.NEGATIVE_INFINITY;
    // Batches claimed and waiting for the broker's confirm and their commit. The next pick-up
    // does not wait for them (that wait, a confirm plus round trips, was the pick-up tail on a
    // busy machine); only for a free slot, which bounds the pool connections the relay holds.
    const inFlight = new Set<Promise<unknown>>();
    let batchError: unknown;
    while (!this.#stopped) {
      if (inFlight.size >= this.#maxBatchesInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      let published = 0;
      // A batch that failed after its pick-up reports here; either way the loop backs off.
      let failure: { error: unknown } | undefined = batchError === undefined ? undefined : { error: batchError };
      batchError = undefined;
      if (!failure) {
        try {
          // One session: a wake-up from before this point is a commit this poll will see.
          if (!this.#options.concurrentRelays) wakesSeen = this.#wakes;
          const batch = this.#startBatch();
          published = await batch.picked;
          if (published > 0) {
            const settled: Promise<unknown> = batch.done.then(
              () => {
                failures = 0;
              },
              (error: unknown) => {
                batchError ??= error ?? new Error('outbox batch failed');
              },
            );
            const tracked = settled.finally(() => inFlight.delete(tracked));
            inFlight.add(tracked);
          } else {
            await batch.done;
            failures = 0;
          }
          await this.#cleanupIfDue();
        } catch (error) {
          failure = { error };
        }
      }
      if (failure) {
        failures += 1;
        const delay = backoffDelay(failures, failureBackoff);
        this.#logger.error({ schema: this.#options.database.schema, failures, delayMs: delay, err: describeError(failure.error) }, 'outbox relay failed; retrying');
        // The batches still in hand finish first: a broker that refused one is likely to refuse
        // the next, and their rolled-back rows are what the next round should pick up again.
        await Promise.allSettled(inFlight);
        await this.#sleep(delay, false);
        continue;
      }
      if (!this.#options.concurrentRelays) {
        // One session (PGlite): a wake-up comes from inside the writer's transaction, which holds
        // the session until it commits, so the poll it triggers runs after that commit and finds
        // the row. No hot polling, which kept every service's relay polling every 2 ms under load
        // (some 120 empty polls and their schema switches per trip): poll again when a wake-up
        // came since this poll began or the batch was full, else sleep until the next wake-up
        // (idlePollMs at most).
        if (this.#wakes !== wakesSeen || published >= this.#batchSize) continue;
        await this.#sleep(this.#idlePollMs, true);
        continue;
      }
      if (published > 0) lastActivity = this.#clock.now();
      if (this.#wakes !== wakesSeen) {
        wakesSeen = this.#wakes;
        lastActivity = this.#clock.now();
      }
      if (published > 0) continue;
      // A wake-up comes from inside the writer's transaction, before its commit (on PostgreSQL),
      // and a commit can take a while on a busy machine. Backing off from that wake-up meant
      // polling again only after up to twice the commit time (the relay lag's tail): instead,
      // while events are flowing, poll at a short steady interval; back off once they stop.
      if (this.#clock.now() - lastActivity < hotWindowMs) {
        await this.#sleep(hotPollMs, true);
        pauseMs = hotPollMs;
        continue;
      }
      await this.#sleep(pauseMs, true);
      pauseMs = Math.min(this.#idlePollMs, pauseMs * 2);
    }
    await Promise.allSettled(inFlight);
  }

  async #cleanupIfDue(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#lastCleanup < cleanupEveryMs) return;
    this.#lastCleanup = now;
    await this.runHousekeeping();
  }

  /** Purges sent outbox rows, then runs the `housekeeping` tasks; the loop calls it every minute. */
  async runHousekeeping(): Promise<void> {
    await this.purgeSent();
    const now = new Date(this.#clock.now());
    for (const task of this.#options.housekeeping ?? []) await task(now);
  }

  /** Deletes rows sent longer ago than `retainSentMs` (a bounded batch). */
  async purgeSent(): Promise<number> {
    // A batch the bus accepted is sent, whether or not a poll has marked it yet.
    await this.#markUnmarked();
    const cutoff = new Date(this.#clock.now() - (this.#options.retainSentMs ?? 86_400_000));
    const result = await sql`
      delete from outbox where seq in (select seq from outbox where sent_at < ${cutoff} limit 10000)`.execute(this.#db);
    return Number(result.numAffectedRows ?? 0);
  }

  #poke(): void {
    this.#wakes += 1;
    this.#wake?.();
  }

  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#scheduler.clearTimeout(this.#sleepTimer);
        this.#wake = undefined;
        resolve();
      };
      this.#sleepTimer = this.#scheduler.setTimeout(done, ms);
      this.#wake = wakeable ? done : () => (this.#stopped ? done() : undefined);
    });
  }
}

