import { adminStatsRoutes, type StatPoint } from '@carshare/contracts';
import { useEffect, useMemo, useState } from 'react';
import type { ConsoleSession } from '../../api/console-session.ts';
import { isRouteMissing } from '../../api/console-session.ts';
import { useSession } from '../../api/session-context.tsx';
import { useI18n } from '../../i18n/i18n.tsx';
import type { StringKey } from '../../i18n/strings.ts';
import { ApiMissing, Loading } from '../../ui/error-notice.tsx';
import { StatsChart } from './stats-chart.tsx';
import { alignSeries, bucketStarts, type SeriesSpec, type StatBucket } from './stats-series.ts';

interface ChartSpec {
  id: string;
  title: StringKey;
  lines: Array<SeriesSpec & { label: StringKey; colour: string }>;
}

/** The figures an operator reads every morning; colours from the Okabe–Ito palette. */
const charts: readonly ChartSpec[] = [
  {
    id: 'trips',
    title: 'stats.chart.trips',
    lines: [
      { metric: 'trips_started', field: 'count', label: 'stats.line.tripsStarted', colour: '#0072B2' },
      { metric: 'trips_finished', field: 'count', label: 'stats.line.tripsFinished', colour: '#009E73' },
      { metric: 'failed_trip_starts', field: 'count', label: 'stats.line.failedStarts', colour: '#D55E00' },
    ],
  },
  {
    id: 'revenue',
    title: 'stats.chart.revenue',
    lines: [
      { metric: 'revenue_cents', field: 'sum', divisor: 100, label: 'stats.line.revenue', colour: '#0072B2' },
      { metric: 'refunds_cents', field: 'sum', divisor: 100, label: 'stats.line.refunds', colour: '#D55E00' },
    ],
  },
  {
    id: 'riders',
    title: 'stats.chart.riders',
    lines: [
      { metric: 'registrations', field: 'count', label: 'stats.line.registrations', colour: '#0072B2' },
      { metric: 'verification_approvals', field: 'count', label: 'stats.line.approvals', colour: '#009E73' },
      { metric: 'verification_rejections', field: 'count', label: 'stats.line.rejections', colour: '#D55E00' },
    ],
  },
  {
    id: 'fleet',
    title: 'stats.chart.fleet',
    lines: [
      { metric: 'active_trips', field: 'level', label: 'stats.line.activeTrips', colour: '#0072B2' },
      { metric: 'cars_offline', field: 'level', label: 'stats.line.carsOffline', colour: '#6b6b6b' },
    ],
  },
];

const ranges = {
  day: { hours: 24, bucket: 'hour' },
  week: { hours: 24 * 7, bucket: 'hour' },
  month: { hours: 24 * 30, bucket: 'day' },
} as const satisfies Record<string, { hours: number; bucket: StatBucket }>;
type RangeId = keyof typeof ranges;

/** Every page of one figure over the range (the API pages long ranges by cursor). */
async function allPoints(session: ConsoleSession, query: { metric: SeriesSpec['metric']; bucket: StatBucket; from: string; to: string }, signal: AbortSignal): Promise<StatPoint[]> {
  const points: StatPoint[] = [];
  let cursor: string | undefined;
  do {
    const page = await session.call(adminStatsRoutes.query, { query: { ...query, limit: 1000, ...(cursor ? { cursor } : {}) }, signal });
    points.push(...page.points);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return points;
}

type ChartState = { state: 'loading' } | { state: 'failed'; error: unknown } | { state: 'ready'; times: number[]; values: Array<Array<number | null>> };

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
    for (const chart of charts) {
      Promise.all(
        chart.lines.map((line) =>
          allPoints(session, { metric: line.metric, bucket: span.bucket, from: span.from.toISOString(), to: span.to.toISOString() }, controller.signal).then((points) =>
            alignSeries(starts, points, line),
          ),
        ),
      ).then(
        (values) => !controller.signal.aborted && setStates((current) => ({ ...current, [chart.id]: { state: 'ready', times: starts, values } })),
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
  const { t, errorText, formatDate } = useI18n();
  const title = t(chart.title);
  const lines = useMemo(
    () => (state.state === 'ready' ? chart.lines.map((line, index) => ({ label: t(line.label), colour: line.colour, values: state.values[index] ?? [] })) : []),
    [chart, state, t],
  );
  return (
    <figure className="chart-figure" data-chart={chart.id} aria-labelledby={`chart-${chart.id}`}>
      <figcaption id={`chart-${chart.id}`}>{title}</figcaption>
      {state.state === 'loading' && <Loading />}
      {state.state === 'failed' && (
        <p className="notice notice-error" role="alert">
          {t('stats.failed', { reason: errorText(state.error) })}
        </p>
      )}
      {state.state === 'ready' && (
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
                      <td key={line.label}>{line.values[row] ?? t('common.none')}</td>
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
