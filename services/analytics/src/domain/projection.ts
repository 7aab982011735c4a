import {
  CarCreated,
  CarSearched,
  CarStateChanged,
  PaymentCaptured,
  PaymentRefunded,
  ProfileRejected,
  ProfileSubmitted,
  ProfileVerified,
  ReservationCancelled,
  ReservationCreated,
  ReservationExpired,
  UserRegistered,
  eventDefinitions,
  type EventEnvelope,
  type StatDimension,
  type StatMetric,
} from '@carshare/contracts';
import type { RiderActivity } from './conversion.ts';
import { bucketSizeMs, bucketStart, statBuckets, type StatBucketName } from './stat-metrics.ts';

/** One contribution to a figure: `count` and `sum` are added into the buckets that hold `at`. */
export interface Fact {
  metric: StatMetric;
  /** Epoch ms: when it happened (the event's occurredAt), never when it arrived. */
  at: number;
  count: number;
  /** The amount (cents, ms), or the level change (+1 / −1) of a level figure. */
  sum: number;
  dims: Partial<Record<StatDimension, string>>;
  /**
   * Only these bucket sizes (default: hour and day). A figure that counts something once per
   * bucket (a rider who searched, a trip in progress) differs between an hour and its day.
   */
  buckets?: readonly StatBucketName[];
}

/**
 * Figures that need two events of one thing (a trip's start and finish, a licence's submission
 * and decision) pair them in a span: whichever arrives second closes it, so the figure is the
 * same in either order.
 */
export type SpanKind = 'trip' | 'review';

export interface SpanMark {
  kind: SpanKind;
  id: string;
  side: 'open' | 'close';
  at: number;
  attrs: Record<string, string>;
}

export interface Span {
  kind: SpanKind;
  id: string;
  openedAt: number | undefined;
  openAttrs: Record<string, string>;
  closedAt: number | undefined;
  closeAttrs: Record<string, string>;
}

export type Reading = { projected: true; facts: Fact[]; spans: SpanMark[]; activity?: RiderActivity[] } | { projected: false; why: string };

/** The topics each projection's consumer group reads: one group per projection (own lag, own dead letters). */
export const projectionTopics = {
  trips: ['trip.*', 'reservation.*'],
  revenue: ['payment.captured', 'payment.refunded'],
  verification: ['profile.submitted', 'profile.verified', 'profile.rejected'],
  accounts: ['user.registered'],
  fleet: ['car.state_changed', 'car.created'],
  searches: ['car.searched'],
} as const satisfies Record<string, readonly string[]>;

export type ProjectionName = keyof typeof projectionTopics;

const skip = (why: string): Reading => ({ projected: false, why });
const facts = (...list: Fact[]): Reading => ({ projected: true, facts: list, spans: [] });

/** What an unlock attempt's end says, from the car's `reason` when it left `unlocking`. */
export function unlockResult(reason: string): string {
  switch (reason) {
    case 'unlock_acked':
      return 'ok';
    case 'device_refused':
      return 'refused';
    case 'device_did_not_answer':
      return 'timeout';
    default:
      // An operator moved the car, or a reason added later: an attempt that did not open the car.
      return 'aborted';
  }
}

/**
 * Trip events have no contract yet (another change defines them): until one exists, version 1 is
 * read for the few fields analytics needs, tolerantly. Once contracts/ defines the type, only the
 * versions it defines and data that matches them are read; any other version is archived and
 * left unprojected, so a rebuild by a newer analytics picks it up.
 */
function tolerantData(event: EventEnvelope): Record<string, unknown> | undefined {
  const defined = eventDefinitions.filter((definition) => definition.type === event.type);
  if (defined.length > 0) {
    const definition = defined.find((candidate) => candidate.version === event.version);
    return definition?.is(event) ? event.data : undefined;
  }
  if (event.version !== 1 || typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) return undefined;
  return event.data as Record<string, unknown>;
}

/** A short label from the payload, or undefined: dimension values stay few and bounded. */
function label(data: Record<string, unknown>, field: string): string | undefined {
  const value = data[field];
  return typeof value === 'string' && value.length > 0 && value.length <= 64 ? value : undefined;
}

function dimsOf(entries: Array<[StatDimension, string | undefined]>): Partial<Record<StatDimension, string>> {
  const dims: Partial<Record<StatDimension, string>> = {};
  for (const [name, value] of entries) if (value !== undefined) dims[name] = value;
  return dims;
}

function readTripEvent(event: EventEnvelope, at: number): Reading {
  const data = tolerantData(event);
  if (!data) return skip(`${event.type} v${event.version} is not a version analytics reads`);
  const category = label(data, 'category');
  switch (event.type) {
    case 'trip.started':
      return {
        projected: true,
        facts: [
          { metric: 'trips_started', at, count: 1, sum: 0, dims: dimsOf([['category', category]]) },
          { metric: 'active_trips', at, count: 1, sum: 1, dims: dimsOf([['category', category]]) },
        ],
        spans: [{ kind: 'trip', id: event.subject, side: 'open', at, attrs: category === undefined ? {} : { category } }],
      };
    case 'trip.finished': {
      const attrs: Record<string, string> = {};
      const zone = label(data, 'zoneId');
      const currency = label(data, 'currency');
      if (zone !== undefined) attrs['zone'] = zone;
      if (currency !== undefined) attrs['currency'] = currency;
      if (typeof data['totalCents'] === 'number' && Number.isSafeInteger(data['totalCents'])) attrs['totalCents'] = String(data['totalCents']);
      return { projected: true, facts: [], spans: [{ kind: 'trip', id: event.subject, side: 'close', at, attrs }] };
    }
    case 'trip.failed':
      return facts({ metric: 'failed_trip_starts', at, count: 1, sum: 0, dims: dimsOf([['reason', label(data, 'reason') ?? 'unknown'], ['category', category]]) });
    default:
      // trip.paused, trip.resumed, …: archived for a later projection, no figure today.
      return skip(`${event.type} feeds no figure`);
  }
}

/**
 * What one event contributes to the figures: pure, so live consumption and a rebuild from the
 * archive cannot disagree. Events of versions analytics does not know are not an error: they are
 * archived and left unprojected.
 */
export function readEvent(event: EventEnvelope): Reading {
  const at = Date.parse(event.occurredAt);
  if (!Number.isFinite(at)) return skip('occurredAt is not a time');
  if (event.type.startsWith('trip.')) return readTripEvent(event, at);
  if (ReservationCreated.is(event)) {
    return {
      projected: true,
      facts: [{ metric: 'reservations', at, count: 1, sum: 0, dims: { outcome: 'created' } }],
      spans: [],
      activity: [{ eventId: event.id, riderId: event.data.riderId, kind: 'reservation', at }],
    };
  }
  if (CarSearched.is(event)) return { projected: true, facts: [], spans: [], activity: [{ eventId: event.id, riderId: event.data.riderId, kind: 'search', at }] };
  if (CarCreated.is(event)) return facts({ metric: 'fleet_size', at, count: 1, sum: 1, dims: { category: event.data.category } });
  if (ReservationCancelled.is(event)) return facts({ metric: 'reservations', at, count: 1, sum: 0, dims: { outcome: 'cancelled' } });
  if (ReservationExpired.is(event)) return facts({ metric: 'reservations', at, count: 1, sum: 0, dims: { outcome: 'expired' } });
  if (PaymentCaptured.is(event)) {
    return facts({ metric: 'revenue_cents', at, count: 1, sum: event.data.amountCents, dims: { currency: event.data.currency } });
  }
  if (PaymentRefunded.is(event)) {
    return facts({ metric: 'refunds_cents', at, count: 1, sum: event.data.amountCents, dims: { currency: event.data.currency, reason: event.data.reason } });
  }
  if (UserRegistered.is(event)) return facts({ metric: 'registrations', at, count: 1, sum: 0, dims: { role: event.data.role } });
  if (ProfileSubmitted.is(event)) {
    return { projected: true, facts: [], spans: [{ kind: 'review', id: event.data.submissionId, side: 'open', at, attrs: {} }] };
  }
  if (ProfileVerified.is(event)) {
    return {
      projected: true,
      facts: [{ metric: 'verification_approvals', at, count: 1, sum: 0, dims: { by: event.data.by } }],
      spans: [{ kind: 'review', id: event.data.submissionId, side: 'close', at, attrs: { outcome: 'verified' } }],
    };
  }
  if (ProfileRejected.is(event)) {
    return {
      projected: true,
      facts: [{ metric: 'verification_rejections', at, count: 1, sum: 0, dims: { reason: event.data.reason } }],
      spans: [{ kind: 'review', id: event.data.submissionId, side: 'close', at, attrs: { outcome: 'rejected' } }],
    };
  }
  if (CarStateChanged.is(event)) {
    const { from, to, reason } = event.data;
    const list: Fact[] = [];
    if (from === 'unlocking') list.push({ metric: 'unlock_attempts', at, count: 1, sum: 0, dims: { result: unlockResult(reason) } });
    if (to === 'offline' && from !== 'offline') list.push({ metric: 'cars_offline', at, count: 1, sum: 1, dims: {} });
    if (from === 'offline' && to !== 'offline') list.push({ metric: 'cars_offline', at, count: 1, sum: -1, dims: {} });
    return { projected: true, facts: list, spans: [] };
  }
  return skip(`${event.type} v${event.version} is not a version analytics reads`);
}

/**
 * Applies one mark to a span and answers the facts that its completion gives (none until both
 * ends are known). A second open or close of one span changes nothing: the first one stands.
 */
export function markSpan(span: Span, mark: SpanMark): Fact[] {
  const wasComplete = span.openedAt !== undefined && span.closedAt !== undefined;
  if (mark.side === 'open' && span.openedAt === undefined) {
    span.openedAt = mark.at;
    span.openAttrs = mark.attrs;
  } else if (mark.side === 'close' && span.closedAt === undefined) {
    span.closedAt = mark.at;
    span.closeAttrs = mark.attrs;
  }
  if (wasComplete || span.openedAt === undefined || span.closedAt === undefined) return [];
  return spanFacts(span.kind, span.openedAt, span.openAttrs, span.closedAt, span.closeAttrs);
}

/**
 * A trip's car time, cut at every bucket boundary it crosses: each piece lands in its own hour
 * (and, cut by day, in its own day), counting the trip once in every bucket it overlaps.
 */
export function tripTime(from: number, to: number, dims: Fact['dims']): Fact[] {
  const pieces: Fact[] = [];
  for (const bucket of statBuckets) {
    const size = bucketSizeMs(bucket);
    for (let start = bucketStart(bucket, from); start === bucketStart(bucket, from) || start < to; start += size) {
      const pieceFrom = Math.max(from, start);
      pieces.push({ metric: 'trip_time_ms', at: pieceFrom, count: 1, sum: Math.min(to, start + size) - pieceFrom, dims, buckets: [bucket] });
    }
  }
  return pieces;
}

function spanFacts(kind: SpanKind, openedAt: number, openAttrs: Record<string, string>, closedAt: number, closeAttrs: Record<string, string>): Fact[] {
  const duration = Math.max(0, closedAt - openedAt);
  switch (kind) {
    case 'trip': {
      const where = dimsOf([['category', openAttrs['category']], ['zone', closeAttrs['zone']]]);
      const list: Fact[] = [
        { metric: 'trips_finished', at: closedAt, count: 1, sum: duration, dims: where },
        { metric: 'active_trips', at: closedAt, count: 1, sum: -1, dims: dimsOf([['category', openAttrs['category']]]) },
        ...tripTime(openedAt, openedAt + duration, where),
      ];
      const total = closeAttrs['totalCents'];
      if (total !== undefined) {
        list.push({ metric: 'trip_revenue_cents', at: closedAt, count: 1, sum: Number(total), dims: { ...where, ...dimsOf([['currency', closeAttrs['currency']]]) } });
      }
      return list;
    }
    case 'review':
      return [{ metric: 'review_duration_ms', at: closedAt, count: 1, sum: duration, dims: dimsOf([['outcome', closeAttrs['outcome']]]) }];
  }
}
