import { adminStatsRoutes, type StatDimension, type StatMetric, type StatPoint } from '@carshare/contracts';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ConsoleSession } from '../../api/console-session.ts';
import { isRouteMissing } from '../../api/console-session.ts';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { StringKey } from '../../i18n/strings.ts';
import { ApiMissing, Loading } from '../../ui/error-notice.tsx';
import { StatsChart } from './stats-chart.tsx';
import { addSeries, alignSeries, bucketStarts, keysOf, ratioSeries, utilisationSeries, type SeriesSpec, type StatBucket } from './stats-series.ts';
import { isStatsStringKey, statsText, type StatsStringKey } from './stats-strings.ts';

/** A label from either string table, or a value from the data itself (a zone id, a reason code). */
type Label = StringKey | StatsStringKey | { text: string };

interface Line {
  label: Label;
  colour: string;
  values: Array<number | null>;
}

/** One figure of the range, fetched once however many charts draw it. */
type Fetch = (metric: StatMetric, by?: StatDimension) => Promise<StatPoint[]>;

interface LoadContext {
  fetch: Fetch;
  starts: number[];
  bucket: StatBucket;
}

interface ChartSpec {
  id: string;
  title: StringKey | StatsStringKey;
  note?: StatsStringKey;
  load(context: LoadContext): Promise<Line[]>;
}

/** The Okabe–Ito palette (distinguishable with colour-blindness), then grey. */
const palette = ['#0072B2', '#009E73', '#D55E00', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#6b6b6b'];

/** Lines that each draw one number of one figure. */
function fixedLines(lines: Array<SeriesSpec & { label: Label; colour: string }>): ChartSpec['load'] {
  return async ({ fetch, starts }) =>
    Promise.all(lines.map(async (line) => ({ label: line.label, colour: line.colour, values: alignSeries(starts, await fetch(line.metric), line) })));
}

function keyLabel(dimension: StatDimension, key: string): Label {
  const known = `stats.${dimension}.${key}`;
  return isStatsStringKey(known) ? known : { text: key };
}

/** A line per value of a dimension that occurred in the range (zones and reasons are not known in advance). */
function breakdown(metric: StatMetric, by: StatDimension, field: SeriesSpec['field'], divisor?: number): ChartSpec['load'] {
  return async ({ fetch, starts }) => {
    const points = await fetch(metric, by);
    return keysOf(points).map((key, index) => ({
      label: keyLabel(by, key),
      colour: palette[index % palette.length] as string,
      values: alignSeries(starts, points, { metric, field, key, ...(divisor !== undefined && { divisor }) }),
    }));
  };
}

/** The figures an operator reads every morning. */
const charts: readonly ChartSpec[] = [
  {
    id: 'trips',
    title: 'stats.chart.trips',
    load: fixedLines([
      { metric: 'trips_started', field: 'count', label: 'stats.line.tripsStarted', colour: '#0072B2' },
      { metric: 'trips_finished', field: 'count', label: 'stats.line.tripsFinished', colour: '#009E73' },
      { metric: 'failed_trip_starts', field: 'count', label: 'stats.line.failedStarts', colour: '#D55E00' },
    ]),
  },
  {
    id: 'revenue',
    title: 'stats.chart.revenue',
    load: fixedLines([
      { metric: 'revenue_cents', field: 'sum', divisor: 100, label: 'stats.line.revenue', colour: '#0072B2' },
      { metric: 'refunds_cents', field: 'sum', divisor: 100, label: 'stats.line.refunds', colour: '#D55E00' },
      { metric: 'trip_revenue_cents', field: 'sum', divisor: 100, label: 'stats.line.tripPrices', colour: '#009E73' },
    ]),
  },
  {
    id: 'riders',
    title: 'stats.chart.riders',
    load: fixedLines([
      { metric: 'registrations', field: 'count', label: 'stats.line.registrations', colour: '#0072B2' },
      { metric: 'verification_approvals', field: 'count', label: 'stats.line.approvals', colour: '#009E73' },
      { metric: 'verification_rejections', field: 'count', label: 'stats.line.rejections', colour: '#D55E00' },
      { metric: 'search_conversion', field: 'count', label: 'stats.line.searched', colour: '#CC79A7' },
      { metric: 'search_conversion', field: 'sum', label: 'stats.line.reservedAfterSearch', colour: '#E69F00' },
    ]),
  },
  {
    id: 'fleet',
    title: 'stats.chart.fleet',
    load: fixedLines([
      { metric: 'active_trips', field: 'level', label: 'stats.line.activeTrips', colour: '#0072B2' },
      { metric: 'cars_offline', field: 'level', label: 'stats.line.carsOffline', colour: '#6b6b6b' },
      { metric: 'fleet_size', field: 'level', label: 'stats.line.fleet', colour: '#009E73' },
    ]),
  },
  {
    id: 'rates',
    title: 'stats.chart.rates',
    async load({ fetch, starts }) {
      const [unlocks, searches, approvals, rejections] = await Promise.all([
        fetch('unlock_attempts', 'result'),
        fetch('search_conversion'),
        fetch('verification_approvals'),
        fetch('verification_rejections'),
      ]);
      const unlock = (key: string) => alignSeries(starts, unlocks, { metric: 'unlock_attempts', field: 'count', key });
      // An attempt an operator aborted is not the rider's failure (as the SLO rule counts it).
      const opened = unlock('ok');
      const approved = alignSeries(starts, approvals, { metric: 'verification_approvals', field: 'count' });
      const rejected = alignSeries(starts, rejections, { metric: 'verification_rejections', field: 'count' });
      return [
        { label: 'stats.line.unlockSuccess', colour: '#0072B2', values: ratioSeries(opened, addSeries(opened, unlock('refused'), unlock('timeout'))) },
        {
          label: 'stats.line.conversion',
          colour: '#CC79A7',
          values: ratioSeries(alignSeries(starts, searches, { metric: 'search_conversion', field: 'sum' }), alignSeries(starts, searches, { metric: 'search_conversion', field: 'count' })),
        },
        { label: 'stats.line.approvalRate', colour: '#009E73', values: ratioSeries(approved, addSeries(approved, rejected)) },
      ];
    },
  },
  {
    id: 'utilisation',
    title: 'stats.chart.utilisation',
    note: 'stats.note.utilisation',
    async load({ fetch, starts, bucket }) {
      const [time, fleet, timeByCategory, fleetByCategory] = await Promise.all([
        fetch('trip_time_ms'),
        fetch('fleet_size'),
        fetch('trip_time_ms', 'category'),
        fetch('fleet_size', 'category'),
      ]);
      const lines: Line[] = [
        {
          label: 'stats.line.allCars',
          colour: '#000000',
          values: utilisationSeries(alignSeries(starts, time, { metric: 'trip_time_ms', field: 'sum' }), alignSeries(starts, fleet, { metric: 'fleet_size', field: 'level' }), bucket),
        },
      ];
      keysOf(fleetByCategory).forEach((category, index) => {
        lines.push({
          label: keyLabel('category', category),
          colour: palette[index % palette.length] as string,
          values: utilisationSeries(
            alignSeries(starts, timeByCategory, { metric: 'trip_time_ms', field: 'sum', key: category }),
            alignSeries(starts, fleetByCategory, { metric: 'fleet_size', field: 'level', key: category }),
            bucket,
          ),
        });
      });
      return lines;
    },
  },
  {
    id: 'review',
    title: 'stats.chart.review',
    async load({ fetch, starts }) {
      const reviews = await fetch('review_duration_ms', 'outcome');
      const mean = (key: string) =>
        ratioSeries(
          alignSeries(starts, reviews, { metric: 'review_duration_ms', field: 'sum', key }),
          alignSeries(starts, reviews, { metric: 'review_duration_ms', field: 'count', key }),
          1 / 60_000,
        );
      return [
        { label: 'stats.line.reviewVerified', colour: '#009E73', values: mean('verified') },
        { label: 'stats.line.reviewRejected', colour: '#D55E00', values: mean('rejected') },
      ];
    },
  },
  { id: 'revenue-by-category', title: 'stats.chart.revenueByCategory', load: breakdown('trip_revenue_cents', 'category', 'sum', 100) },
  { id: 'trips-by-zone', title: 'stats.chart.tripsByZone', load: breakdown('trips_finished', 'zone', 'count') },
  { id: 'revenue-by-zone', title: 'stats.chart.revenueByZone', load: breakdown('trip_revenue_cents', 'zone', 'sum', 100) },
  { id: 'failed-by-reason', title: 'stats.chart.failedByReason', load: breakdown('failed_trip_starts', 'reason', 'count') },
];

const ranges = {
  day: { hours: 24, bucket: 'hour' },
  week: { hours: 24 * 7, bucket: 'hour' },
  month: { hours: 24 * 30, bucket: 'day' },
} as const satisfies Record<string, { hours: number; bucket: StatBucket }>;
type RangeId = keyof typeof ranges;

/** Every page of one figure over the range (the API pages long ranges by cursor). */
async function allPoints(
  session: ConsoleSession,
  query: { metric: StatMetric; bucket: StatBucket; from: string; to: string; by?: StatDimension },
  signal: AbortSignal,
): Promise<StatPoint[]> {
  const points: StatPoint[] = [];
  let cursor: string | undefined;
  do {
    const page = await session.call(adminStatsRoutes.query, { query: { ...query, limit: 1000, ...(cursor ? { cursor } : {}) }, signal });
    points.push(...page.points);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return points;
}

type ChartState = { state: 'loading' } | { state: 'failed'; error: unknown } | { state: 'ready'; times: number[]; lines: Line[] };

const numberFormats = new Map<string, Intl.NumberFormat>();

/** Rates and means to two decimals at most, in the reader's language; a gap stays a gap. */
function formatValue(value: number | null | undefined, language: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  let format = numberFormats.get(language);
  if (!format) {
    format = new Intl.NumberFormat(language, { maximumFractionDigits: 2 });
    numberFormats.set(language, format);
  }
  return format.format(value);
}

/** Translates either table's key; a value from the data stays as it is. */
function useLabel(): (label: Label) => string {
  const { t, language } = useI18n();
  return useCallback((label: Label) => (typeof label === 'object' ? label.text : isStatsStringKey(label) ? statsText(language, label) : t(label)), [t, language]);
}

/**
 * Business figures from the analytics API as uPlot charts. Each chart loads on its own and says
 * so when its figures cannot be had: a chart of made-up numbers is worse than none.
 */
export function StatsScreen() {
  const session = useSession();
  const { t } = useI18n();
  const [rangeId, setRangeId] = useState<RangeId>('week');
  // The range is fixed when chosen, so every chart covers the same hours.
  const span = useMemo(() => {
    const to = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000);
    const from = new Date(to.getTime() - ranges[rangeId].hours * 3_600_000);
    return { from, to, bucket: ranges[rangeId].bucket };
  }, [rangeId]);
  const [states, setStates] = useState<Record<string, ChartState>>({});

  useEffect(() => {
    const controller = new AbortController();
    setStates(Object.fromEntries(charts.map((chart) => [chart.id, { state: 'loading' }])));
    const starts = bucketStarts(span.from, span.to, span.bucket);
    const fetched = new Map<string, Promise<StatPoint[]>>();
    const fetch: Fetch = (metric, by) => {
      const id = `${metric}/${by ?? ''}`;
      let points = fetched.get(id);
      if (!points) {
        points = allPoints(session, { metric, bucket: span.bucket, from: span.from.toISOString(), to: span.to.toISOString(), ...(by && { by }) }, controller.signal);
        fetched.set(id, points);
      }
      return points;
    };
    for (const chart of charts) {
      chart.load({ fetch, starts, bucket: span.bucket }).then(
        (lines) => !controller.signal.aborted && setStates((current) => ({ ...current, [chart.id]: { state: 'ready', times: starts, lines } })),
        (error: unknown) => !controller.signal.aborted && setStates((current) => ({ ...current, [chart.id]: { state: 'failed', error } })),
      );
    }
    return () => controller.abort();
  }, [session, span]);

  const missing = Object.values(states).some((state) => state.state === 'failed' && isRouteMissing(state.error));

  return (
    <section aria-labelledby="stats-heading">
      <h1 id="stats-heading">{t('stats.heading')}</h1>
      <label>
        {t('stats.range')}
        <select value={rangeId} onChange={(event) => setRangeId(event.target.value as RangeId)}>
          {(Object.keys(ranges) as RangeId[]).map((id) => (
            <option key={id} value={id}>
              {t(`stats.range.${id}`)}
            </option>
          ))}
        </select>
      </label>
      {missing ? (
        <ApiMissing api={t('stats.api')} />
      ) : (
        <div className="charts">
          {charts.map((chart) => (
            <ChartFigure key={chart.id} chart={chart} state={states[chart.id] ?? { state: 'loading' }} />
          ))}
        </div>
      )}
    </section>
  );
}

function ChartFigure({ chart, state }: { chart: ChartSpec; state: ChartState }) {
  const { t, errorText, formatDate, language } = useI18n();
  const label = useLabel();
  const title = label(chart.title);
  // uPlot redraws when these change: only with new figures or another language.
  const lines = useMemo(() => (state.state === 'ready' ? state.lines.map((line) => ({ ...line, label: label(line.label) })) : []), [state, label]);
  return (
    <figure className="chart-figure" data-chart={chart.id} aria-labelledby={`chart-${chart.id}`}>
      <figcaption id={`chart-${chart.id}`}>{title}</figcaption>
      {state.state === 'loading' && <Loading />}
      {state.state === 'failed' && (
        <p className="notice notice-error" role="alert">
          {t('stats.failed', { reason: errorText(state.error) })}
        </p>
      )}
      {chart.note && <p className="chart-note">{statsText(language, chart.note)}</p>}
      {state.state === 'ready' && lines.length === 0 && <p className="notice">{statsText(language, 'stats.nothing')}</p>}
      {state.state === 'ready' && lines.length > 0 && (
        <>
          <StatsChart times={state.times} lines={lines} label={title} />
          <details>
            <summary>{t('stats.data')}</summary>
            <table className="data">
              <caption className="visually-hidden">{title}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('stats.col.time')}</th>
                  {lines.map((line) => (
                    <th scope="col" key={line.label}>
                      {line.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {state.times.map((time, row) => (
                  <tr key={time}>
                    <th scope="row">{formatDate(new Date(time).toISOString())}</th>
                    {lines.map((line) => (
                      <td key={line.label}>{formatValue(line.values[row], language) ?? t('common.none')}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </figure>
  );
}
