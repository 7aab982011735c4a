import type { Fact } from './projection.ts';
import { bucketSizeMs, bucketStart, statBuckets, type StatBucketName } from './stat-metrics.ts';

/**
 * What search-to-reservation conversion is made of: a rider's search sessions (car.searched)
 * and reservations (reservation.created), kept per rider so either may arrive first (ADR 0026).
 */
export interface RiderActivity {
  /** The event it came from: the row's identity, so a replay cannot store it twice. */
  eventId: string;
  riderId: string;
  kind: 'search' | 'reservation';
  at: number;
}

/** Default conversion window: a session lasts up to 10 minutes, so ~20 minutes after its last search. */
export const defaultConversionWindowMs = 30 * 60_000;

/** In a bucket: did the rider search, and did a reservation follow one of those searches within the window? */
function bucketState(activity: readonly RiderActivity[], start: number, end: number, windowMs: number): { searched: boolean; converted: boolean } {
  let searched = false;
  for (const search of activity) {
    if (search.kind !== 'search' || search.at < start || search.at >= end) continue;
    searched = true;
    if (activity.some((reservation) => reservation.kind === 'reservation' && reservation.at >= search.at && reservation.at <= search.at + windowMs)) {
      return { searched, converted: true };
    }
  }
  return { searched, converted: false };
}

/** The buckets whose figures one new activity can change: its own for a search, those of the searches it may follow for a reservation. */
function touchedBuckets(bucket: StatBucketName, added: RiderActivity, windowMs: number): number[] {
  const last = bucketStart(bucket, added.at);
  if (added.kind === 'search') return [last];
  const starts: number[] = [];
  for (let start = bucketStart(bucket, added.at - windowMs); start <= last; start += bucketSizeMs(bucket)) starts.push(start);
  return starts;
}

/**
 * The change one new activity makes to `search_conversion` (count: riders who searched in the
 * bucket, sum: those of them who reserved within `windowMs` after such a search), per hour and
 * per day, given what is known of that rider (`known` must hold their activity from the start of
 * the earliest touched day to `windowMs` after the end of the latest). Figures only ever go up,
 * and the final ones depend on the set of activities, not on the order they arrived in.
 */
export function conversionFacts(known: readonly RiderActivity[], added: RiderActivity, windowMs: number): Fact[] {
  const after = [...known, added];
  const facts: Fact[] = [];
  for (const bucket of statBuckets) {
    const size = bucketSizeMs(bucket);
    for (const start of touchedBuckets(bucket, added, windowMs)) {
      const before = bucketState(known, start, start + size, windowMs);
      const now = bucketState(after, start, start + size, windowMs);
      const count = Number(now.searched) - Number(before.searched);
      const sum = Number(now.converted) - Number(before.converted);
      if (count !== 0 || sum !== 0) facts.push({ metric: 'search_conversion', at: start, count, sum, dims: {}, buckets: [bucket] });
    }
  }
  return facts;
}

/** The time range of a rider's activity that `conversionFacts` needs to judge `added`. */
export function activityWindow(added: readonly RiderActivity[], windowMs: number): { from: number; to: number } {
  const times = added.map((activity) => activity.at);
  const day = bucketSizeMs('day');
  return { from: bucketStart('day', Math.min(...times) - windowMs), to: bucketStart('day', Math.max(...times)) + day + windowMs };
}
