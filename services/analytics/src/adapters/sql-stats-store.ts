import type { EventEnvelope, StatMetric } from '@carshare/contracts';
import type { BatchStatement, ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { activityWindow, conversionFacts, defaultConversionWindowMs, type RiderActivity } from '../domain/conversion.ts';
import { markSpan, readEvent, type Fact, type Reading, type Span, type SpanKind } from '../domain/projection.ts';
import type { StatBucketName } from '../domain/stat-metrics.ts';
import { StatRowAccumulator, type StatRow } from '../domain/stat-rows.ts';
import type { ProjectedBatch, StatsSlice, StatsStore, StoredPoint } from '../ports.ts';
import type { AnalyticsDatabase } from './analytics-database.ts';

type Db = Kysely<AnalyticsDatabase>;
/**
 * Where a projection's writes go: run at once inside the rebuild's transaction, or kept for the
 * batch that commits a live batch of events with its archive rows (ServiceDatabase.batch).
 */
type Write = (statement: RawBuilder<unknown>) => Promise<void>;
/** A table named with the service's schema: the shared PGlite session then needs no search_path switch. */
type Table = (name: string) => RawBuilder<unknown>;

// PostgreSQL takes at most 65,535 parameters a statement: chunks stay well below.
const archiveChunk = 1_000;
const rowChunk = 2_000;
/** Cells a rebuild sums in memory before writing them: a few MB, and far fewer upserts. */
const maxPendingCells = 50_000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

/** How often a batch is read and decided again after another instance archived one of its events first. */
const maxDecisions = 5;
const executeIn =
  (trx: Db): Write =>
  async (statement) =>
    void (await statement.execute(trx));

const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10);
const attrsOf = (value: unknown): Record<string, string> => (typeof value === 'string' ? JSON.parse(value) : (value ?? {})) as Record<string, string>;
const timeOf = (value: Date | string | null): number | undefined => (value === null ? undefined : new Date(value).getTime());

/** One upsert per cell: counts and sums add to what the cell holds. */
async function addCells(write: Write, table: Table, cells: StatRowAccumulator): Promise<void> {
  for (const part of chunks(cells.rows(), rowChunk)) {
    const rows = part.map((row) => ({ ...row, bucketStart: new Date(row.bucketStart).toISOString() }));
    await write(sql`
      insert into ${table('stat_buckets')} (metric, bucket, bucket_start, dimension, key, count, sum)
      select r.metric, r.bucket, r."bucketStart", r.dimension, r.key, r.count, r.sum
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        as r(metric text, bucket text, "bucketStart" timestamptz, dimension text, key text, count bigint, sum bigint)
      on conflict (metric, bucket, dimension, bucket_start, key)
      do update set count = stat_buckets.count + excluded.count, sum = stat_buckets.sum + excluded.sum`);
  }
}

/**
 * Search-to-reservation conversion for a batch: the riders' stored activity around the batch's
 * times, then each new activity judged against what is known before it (in batch order), then
 * the new rows. Order-tolerant because the figures depend only on the set of activities.
 */
async function projectActivity(trx: Db, write: Write, table: Table, added: readonly RiderActivity[], windowMs: number): Promise<Fact[]> {
  const { from, to } = activityWindow(added, windowMs);
  const riders = [...new Set(added.map((activity) => activity.riderId))];
  const rows = await trx
    .selectFrom('rider_activity')
    .select(['event_id', 'rider_id', 'kind', 'at'])
    .where(sql<boolean>`rider_id = any(${riders}::uuid[])`)
    .where('at', '>=', new Date(from))
    .where('at', '<=', new Date(to))
    .execute();
  const known = new Map<string, RiderActivity[]>();
  for (const row of rows) {
    const list = known.get(row.rider_id) ?? [];
    list.push({ eventId: row.event_id, riderId: row.rider_id, kind: row.kind as RiderActivity['kind'], at: new Date(row.at).getTime() });
    known.set(row.rider_id, list);
  }
  const facts: Fact[] = [];
  for (const activity of added) {
    const list = known.get(activity.riderId) ?? [];
    if (list.some((stored) => stored.eventId === activity.eventId)) continue;
    facts.push(...conversionFacts(list, activity, windowMs));
    list.push(activity);
    known.set(activity.riderId, list);
  }
  for (const part of chunks(added, rowChunk)) {
    const rows = part.map((activity) => ({ eventId: activity.eventId, riderId: activity.riderId, kind: activity.kind, at: new Date(activity.at).toISOString() }));
    await write(sql`
      insert into ${table('rider_activity')} (event_id, rider_id, kind, at)
      select r."eventId", r."riderId", r.kind, r.at
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r("eventId" uuid, "riderId" uuid, kind text, at timestamptz)
      on conflict (event_id) do nothing`);
  }
  return facts;
}

/**
 * Adds the figures of `events` (being archived, or replayed) to the views, reading through `trx`
 * and writing through `write`: pure readings, spans completed in memory over the batch in order,
 * then one upsert per touched span and cell. Live consumption and the rebuild both come through here; the rebuild passes its
 * own `cells` and writes them once they are many (a cell gets events from many pages).
 */
async function project(
  trx: Db,
  write: Write,
  table: Table,
  events: readonly EventEnvelope[],
  conversionWindowMs: number,
  pending?: StatRowAccumulator,
): Promise<{ readings: Reading[]; facts: Fact[] }> {
  const readings = events.map(readEvent);
  const facts: Fact[] = [];
  const activity = readings.flatMap((reading) => (reading.projected ? (reading.activity ?? []) : []));
  if (activity.length > 0) facts.push(...(await projectActivity(trx, write, table, activity, conversionWindowMs)));
  const marks = readings.flatMap((reading) => (reading.projected ? reading.spans : []));
  for (const reading of readings) if (reading.projected) facts.push(...reading.facts);
  if (marks.length > 0) {
    const spans = new Map<string, Span>();
    const keyOf = (kind: SpanKind, id: string) => `${kind}\u0000${id}`;
    // One array parameter per kind: a long `(kind, id) in (…)` list nests deep enough in the
    // planner to overflow PGlite's stack at a few thousand pairs.
    const wanted = new Map<SpanKind, Set<string>>();
    for (const mark of marks) {
      const ids = wanted.get(mark.kind) ?? new Set<string>();
      ids.add(mark.id);
      wanted.set(mark.kind, ids);
    }
    for (const [kind, ids] of wanted) {
      const rows = await trx
        .selectFrom('stat_spans')
        .selectAll()
        .where('kind', '=', kind)
        .where(sql<boolean>`id = any(${[...ids]}::text[])`)
        .execute();
      for (const row of rows) {
        spans.set(keyOf(row.kind as SpanKind, row.id), {
          kind: row.kind as SpanKind,
          id: row.id,
          openedAt: timeOf(row.opened_at),
          openAttrs: attrsOf(row.open_attrs),
          closedAt: timeOf(row.closed_at),
          closeAttrs: attrsOf(row.close_attrs),
        });
      }
    }
    const touched = new Map<string, Span>();
    for (const mark of marks) {
      const key = keyOf(mark.kind, mark.id);
      let span = spans.get(key);
      if (!span) {
        span = { kind: mark.kind, id: mark.id, openedAt: undefined, openAttrs: {}, closedAt: undefined, closeAttrs: {} };
        spans.set(key, span);
      }
      facts.push(...markSpan(span, mark));
      touched.set(key, span);
    }
    for (const part of chunks([...touched.values()], rowChunk)) {
      const rows = part.map((span) => ({
        kind: span.kind,
        id: span.id,
        openedAt: span.openedAt === undefined ? null : new Date(span.openedAt).toISOString(),
        openAttrs: span.openAttrs,
        closedAt: span.closedAt === undefined ? null : new Date(span.closedAt).toISOString(),
        closeAttrs: span.closeAttrs,
      }));
      await write(sql`
        insert into ${table('stat_spans')} (kind, id, opened_at, open_attrs, closed_at, close_attrs)
        select r.kind, r.id, r."openedAt", r."openAttrs", r."closedAt", r."closeAttrs"
        from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as r(kind text, id text, "openedAt" timestamptz, "openAttrs" jsonb, "closedAt" timestamptz, "closeAttrs" jsonb)
        on conflict (kind, id) do update set opened_at = excluded.opened_at, open_attrs = excluded.open_attrs,
          closed_at = excluded.closed_at, close_attrs = excluded.close_attrs`);
    }
  }
  const cells = pending ?? new StatRowAccumulator();
  for (const fact of facts) cells.add(fact);
  if (!pending) await addCells(write, table, cells);
  return { readings, facts };
}

export interface SqlStatsStoreOptions {
  /** A reservation this long after a search session's start converts it (ADR 0026). */
  conversionWindowMs?: number;
}

export class SqlStatsStore implements StatsStore {
  readonly #database: ServiceDatabase<AnalyticsDatabase>;
  readonly #conversionWindowMs: number;

  constructor(database: ServiceDatabase<AnalyticsDatabase>, options: SqlStatsStoreOptions = {}) {
    this.#database = database;
    this.#conversionWindowMs = options.conversionWindowMs ?? defaultConversionWindowMs;
  }

  /**
   * Archives and projects a batch of events, each once. Read first, outside any transaction: which
   * events the archive has already, and the stored activity and spans the new ones build on; then
   * the archive rows and every view's change go in one batch, which holds the embedded database's
   * one session only to send it. The batch commits only if it archived every event it projected:
   * another instance that archived one of them meanwhile has projected it, and this one reads and
   * decides again.
   */
  async append(events: readonly EventEnvelope[], archivedAt: number): Promise<ProjectedBatch> {
    // Two deliveries of one event in one batch: the first one stands.
    const unique = [...new Map(events.map((event) => [event.id, event])).values()];
    const db = this.#database.db;
    const table = this.#database.table;
    for (let attempt = 1; ; attempt += 1) {
      const archived = await this.#notArchived(unique);
      const statements: BatchStatement[] = [];
      const write: Write = async (statement) => void statements.push({ query: statement.compile(db) });
      const raced = new Error('an event of the batch was archived meanwhile');
      // One JSON parameter a batch: thousands of bound parameters cost PGlite more than the rows.
      for (const part of chunks(archived, archiveChunk)) {
        const rows = part.map((event) => ({ id: event.id, day: utcDay(Date.parse(event.occurredAt)), type: event.type, version: event.version, occurredAt: event.occurredAt, envelope: event }));
        statements.push({
          query: sql`
            with inserted as (
              insert into ${table('event_archive')} (event_id, day, type, version, occurred_at, envelope, archived_at)
              select r.id, r.day, r.type, r.version, r."occurredAt", r.envelope, ${new Date(archivedAt)}
              from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                as r(id uuid, day date, type text, version integer, "occurredAt" timestamptz, envelope jsonb)
              on conflict (event_id) do nothing
              returning 1)
            select 1 where (select count(*) from inserted) = ${part.length}`.compile(db),
          orElse: () => raced,
        });
      }
      const { readings, facts } = await project(db, write, table, archived, this.#conversionWindowMs);
      try {
        if (statements.length > 0) await this.#database.batch(statements);
      } catch (error) {
        if (error !== raced || attempt >= maxDecisions) throw error;
        continue;
      }
      return { archived: archived.map((event, index) => ({ event, reading: readings[index] as Reading })), facts };
    }
  }

  /** The events of `events` the archive does not hold yet, in their order. */
  async #notArchived(events: readonly EventEnvelope[]): Promise<EventEnvelope[]> {
    if (events.length === 0) return [];
    const held = new Set<string>();
    for (const part of chunks(events, archiveChunk)) {
      const { rows } = await sql<{ event_id: string }>`
        select event_id from ${this.#database.table('event_archive')} where event_id = any(${part.map((event) => event.id)}::uuid[])`.execute(this.#database.db);
      for (const row of rows) held.add(row.event_id);
    }
    return events.filter((event) => !held.has(event.id));
  }

  async query(slice: StatsSlice): Promise<StoredPoint[]> {
    const from = new Date(slice.from);
    const to = new Date(slice.to);
    const afterStart = slice.after ? new Date(slice.after.bucketStart) : null;
    const afterKey = slice.after?.key ?? '';
    // The level of a key at the end of a bucket: everything before the range, then a running sum.
    // A key that changed before the range but not in it still gets a point at the range's start,
    // so a quiet range shows its level instead of nothing.
    const { rows } = await sql<{ bucket_start: Date | string; key: string; count: string | number; sum: string | number; level: string | number }>`
      with cells as (
        select bucket_start, key, count, sum from stat_buckets
        where metric = ${slice.metric} and bucket = ${slice.bucket} and dimension = ${slice.dimension}
          and bucket_start >= ${from} and bucket_start < ${to}
      ),
      base as (
        select key, sum(sum) as level from stat_buckets
        where metric = ${slice.metric} and bucket = ${slice.bucket} and dimension = ${slice.dimension} and bucket_start < ${from}
        group by key
      ),
      points as (
        select bucket_start, key, count, sum from cells
        union all
        select ${from}::timestamptz, base.key, 0, 0 from base
        where base.level <> 0 and not exists (select 1 from cells where cells.key = base.key and cells.bucket_start = ${from})
      ),
      levels as (
        select p.bucket_start, p.key, p.count, p.sum,
          coalesce(b.level, 0) + sum(p.sum) over (partition by p.key order by p.bucket_start rows between unbounded preceding and current row) as level
        from points p left join base b on b.key = p.key
      )
      select bucket_start, key, count, sum, level from levels
      where ${afterStart}::timestamptz is null or (bucket_start, key) > (${afterStart}::timestamptz, ${afterKey})
      order by bucket_start, key
      limit ${slice.limit + 1}`.execute(this.#database.db);
    return rows.map((row) => ({
      bucketStart: new Date(row.bucket_start).getTime(),
      key: row.key,
      count: Number(row.count),
      sum: Number(row.sum),
      level: Number(row.level),
    }));
  }

  async rebuild(onProgress: (replayed: number, total: number) => void, pageSize = 5_000): Promise<{ replayed: number }> {
    // One transaction: readers see the old views until the new ones are complete, and a live
    // consumer elsewhere waits on the truncated tables instead of adding to a half-built view
    // (its archive row, not yet committed, is not replayed; its figures land after).
    return this.#database.transaction(async (trx) => {
      const counted = await trx.selectFrom('event_archive').select(sql<string | number>`count(*)`.as('total')).executeTakeFirstOrThrow();
      const total = Number(counted.total);
      await sql`truncate stat_buckets, stat_spans, rider_activity`.execute(trx);
      let replayed = 0;
      let after: string | undefined;
      let cells = new StatRowAccumulator();
      onProgress(0, total);
      for (;;) {
        let page = trx.selectFrom('event_archive').select(['event_id', 'envelope']).orderBy('event_id').limit(pageSize);
        if (after !== undefined) page = page.where('event_id', '>', after);
        const rows = await page.execute();
        if (rows.length === 0) break;
        await project(
          trx,
          executeIn(trx),
          this.#database.table,
          rows.map((row) => (typeof row.envelope === 'string' ? JSON.parse(row.envelope) : row.envelope) as EventEnvelope),
          this.#conversionWindowMs,
          cells,
        );
        if (cells.size >= maxPendingCells) {
          await addCells(executeIn(trx), this.#database.table, cells);
          cells = new StatRowAccumulator();
        }
        replayed += rows.length;
        after = rows.at(-1)?.event_id;
        onProgress(replayed, total);
      }
      await addCells(executeIn(trx), this.#database.table, cells);
      return { replayed };
    });
  }

  async sweepArchive(day: string, limit: number): Promise<number> {
    const result = await sql`
      delete from event_archive where ctid in (select ctid from event_archive where day < ${day}::date limit ${limit})`.execute(this.#database.db);
    return Number(result.numAffectedRows ?? 0);
  }

  async snapshot(): Promise<StatRow[]> {
    const rows = await this.#database.db.selectFrom('stat_buckets').selectAll().orderBy(['metric', 'bucket', 'dimension', 'bucket_start', 'key']).execute();
    return rows.map((row) => ({
      metric: row.metric as StatMetric,
      bucket: row.bucket as StatBucketName,
      bucketStart: new Date(row.bucket_start).getTime(),
      dimension: row.dimension,
      key: row.key,
      count: Number(row.count),
      sum: Number(row.sum),
    }));
  }

  async currentLevel(metric: StatMetric): Promise<number> {
    const row = await this.#database.db
      .selectFrom('stat_buckets')
      .select(sql<string | number | null>`sum(sum)`.as('level'))
      .where('metric', '=', metric)
      .where('bucket', '=', 'day')
      .where('dimension', '=', '')
      .executeTakeFirst();
    return Number(row?.level ?? 0);
  }

  async currentLevels(metric: StatMetric, dimension: string): Promise<Map<string, number>> {
    const rows = await this.#database.db
      .selectFrom('stat_buckets')
      .select(['key', sql<string | number | null>`sum(sum)`.as('level')])
      .where('metric', '=', metric)
      .where('bucket', '=', 'day')
      .where('dimension', '=', dimension)
      .groupBy('key')
      .execute();
    return new Map(rows.map((row) => [row.key, Number(row.level ?? 0)]));
  }
}
