import type { EventEnvelope, StatMetric } from '@carshare/contracts';
import type { ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely } from 'kysely';
import { markSpan, readEvent, type Fact, type Reading, type Span, type SpanKind } from '../domain/projection.ts';
import type { StatBucketName } from '../domain/stat-metrics.ts';
import { StatRowAccumulator, type StatRow } from '../domain/stat-rows.ts';
import type { ProjectedBatch, StatsSlice, StatsStore, StoredPoint } from '../ports.ts';
import type { AnalyticsDatabase } from './analytics-database.ts';

type Db = Kysely<AnalyticsDatabase>;

// PostgreSQL takes at most 65,535 parameters a statement: chunks stay well below.
const archiveChunk = 1_000;
const rowChunk = 2_000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
}

const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10);
const attrsOf = (value: unknown): Record<string, string> => (typeof value === 'string' ? JSON.parse(value) : (value ?? {})) as Record<string, string>;
const timeOf = (value: Date | string | null): number | undefined => (value === null ? undefined : new Date(value).getTime());

/**
 * Adds the figures of `events` (already archived, or being replayed) to the views inside `trx`:
 * pure readings, spans completed in memory over the batch in order, then one upsert per touched
 * cell and span. Live consumption and the rebuild both come through here.
 */
async function project(trx: Db, events: readonly EventEnvelope[]): Promise<{ readings: Reading[]; facts: Fact[] }> {
  const readings = events.map(readEvent);
  const facts: Fact[] = [];
  const marks = readings.flatMap((reading) => (reading.projected ? reading.spans : []));
  for (const reading of readings) if (reading.projected) facts.push(...reading.facts);
  if (marks.length > 0) {
    const spans = new Map<string, Span>();
    const keyOf = (kind: SpanKind, id: string) => `${kind}\u0000${id}`;
    const wanted = [...new Map(marks.map((mark) => [keyOf(mark.kind, mark.id), mark])).values()];
    for (const part of chunks(wanted, rowChunk)) {
      const rows = await trx
        .selectFrom('stat_spans')
        .selectAll()
        .where(sql<boolean>`(kind, id) in (${sql.join(part.map((mark) => sql`(${mark.kind}, ${mark.id})`))})`)
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
      await trx
        .insertInto('stat_spans')
        .values(
          part.map((span) => ({
            kind: span.kind,
            id: span.id,
            opened_at: span.openedAt === undefined ? null : new Date(span.openedAt),
            open_attrs: JSON.stringify(span.openAttrs),
            closed_at: span.closedAt === undefined ? null : new Date(span.closedAt),
            close_attrs: JSON.stringify(span.closeAttrs),
          })),
        )
        .onConflict((conflict) =>
          conflict.columns(['kind', 'id']).doUpdateSet({
            opened_at: sql`excluded.opened_at`,
            open_attrs: sql`excluded.open_attrs`,
            closed_at: sql`excluded.closed_at`,
            close_attrs: sql`excluded.close_attrs`,
          }),
        )
        .execute();
    }
  }
  const cells = new StatRowAccumulator();
  for (const fact of facts) cells.add(fact);
  for (const part of chunks(cells.rows(), rowChunk)) {
    await trx
      .insertInto('stat_buckets')
      .values(
        part.map((row) => ({
          metric: row.metric,
          bucket: row.bucket,
          bucket_start: new Date(row.bucketStart),
          dimension: row.dimension,
          key: row.key,
          count: row.count,
          sum: row.sum,
        })),
      )
      .onConflict((conflict) =>
        conflict.columns(['metric', 'bucket', 'dimension', 'bucket_start', 'key']).doUpdateSet({
          count: sql`stat_buckets.count + excluded.count`,
          sum: sql`stat_buckets.sum + excluded.sum`,
        }),
      )
      .execute();
  }
  return { readings, facts };
}

export class SqlStatsStore implements StatsStore {
  readonly #database: ServiceDatabase<AnalyticsDatabase>;

  constructor(database: ServiceDatabase<AnalyticsDatabase>) {
    this.#database = database;
  }

  async append(events: readonly EventEnvelope[], archivedAt: number): Promise<ProjectedBatch> {
    // Two deliveries of one event in one batch: the first one stands.
    const unique = [...new Map(events.map((event) => [event.id, event])).values()];
    return this.#database.transaction(async (trx) => {
      const fresh = new Set<string>();
      for (const part of chunks(unique, archiveChunk)) {
        const rows = await trx
          .insertInto('event_archive')
          .values(
            part.map((event) => ({
              event_id: event.id,
              day: utcDay(Date.parse(event.occurredAt)),
              type: event.type,
              version: event.version,
              occurred_at: event.occurredAt,
              envelope: JSON.stringify(event),
              archived_at: new Date(archivedAt),
            })),
          )
          .onConflict((conflict) => conflict.column('event_id').doNothing())
          .returning('event_id')
          .execute();
        for (const row of rows) fresh.add(row.event_id);
      }
      const archived = unique.filter((event) => fresh.has(event.id));
      const { readings, facts } = await project(trx, archived);
      return { archived: archived.map((event, index) => ({ event, reading: readings[index] as Reading })), facts };
    });
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
      await sql`truncate stat_buckets, stat_spans`.execute(trx);
      let replayed = 0;
      let after: string | undefined;
      onProgress(0, total);
      for (;;) {
        let page = trx.selectFrom('event_archive').select(['event_id', 'envelope']).orderBy('event_id').limit(pageSize);
        if (after !== undefined) page = page.where('event_id', '>', after);
        const rows = await page.execute();
        if (rows.length === 0) break;
        await project(
          trx,
          rows.map((row) => (typeof row.envelope === 'string' ? JSON.parse(row.envelope) : row.envelope) as EventEnvelope),
        );
        replayed += rows.length;
        after = rows.at(-1)?.event_id;
        onProgress(replayed, total);
      }
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
}
