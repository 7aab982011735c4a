import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatewayDescriptor } from '@carshare/gateway-service';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

const dashboardsDir = resolve(import.meta.dirname, '../../deploy/grafana/dashboards');

interface Target {
  expr?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

const dashboards = readdirSync(dashboardsDir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => ({ file: name, dashboard: JSON.parse(readFileSync(join(dashboardsDir, name), 'utf8')) as Dashboard }));

/** PromQL words that are not metric names. */
const promqlWords = new Set(
  [
    'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
    'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'abs', 'clamp', 'clamp_min', 'clamp_max',
    'ceil', 'floor', 'round', 'sqrt', 'exp', 'ln', 'log2', 'log10', 'time', 'timestamp', 'vector', 'scalar', 'sort', 'sort_desc',
    'absent', 'absent_over_time', 'changes', 'resets', 'label_replace', 'label_join', 'avg_over_time', 'min_over_time',
    'max_over_time', 'sum_over_time', 'count_over_time', 'quantile_over_time', 'last_over_time', 'predict_linear',
    'and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan',
  ],
);

/**
 * The metric names a PromQL expression reads: strings, label matchers, ranges, grouping clauses
 * and dashboard variables are cut out first, so what is left is functions, numbers and names.
 */
function metricNamesIn(expr: string): string[] {
  const labelValues = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(expr);
  if (labelValues) return [labelValues[1] as string];
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  return (bare.match(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((word) => !promqlWords.has(word.toLowerCase()));
}

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
}

function queriesOf(dashboard: Dashboard): string[] {
  const fromPanels = panelsOf(dashboard.panels).flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ''));
  const fromVariables = dashboard.templating.list.filter((variable) => variable.type === 'query').map((variable) => (typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '')));
  return [...fromPanels, ...fromVariables];
}

/** Every name a page offers a query: counters and gauges by name, histograms by their series. */
function exposedNames(page: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of page.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(`${name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_count', '_sum']) names.add(`${name}${suffix}`);
    else names.add(name as string);
  }
  return names;
}

describe('the Grafana dashboards', () => {
  it('read names out of PromQL, and nothing else', () => {
    assert.deepEqual(
      metricNamesIn('histogram_quantile(0.99, sum by (service, le) (rate(http_server_request_duration_seconds_bucket{service=~"$service",x="a b"}[$__rate_interval]))) / 100'),
      ['http_server_request_duration_seconds_bucket'],
    );
    assert.deepEqual(metricNamesIn('sum(increase(a_total[1h])) / sum without (x) (b_total) and on (y) c'), ['a_total', 'b_total', 'c']);
    assert.deepEqual(metricNamesIn('label_values(rpc_server_duration_seconds_count, rpc_service)'), ['rpc_server_duration_seconds_count']);
  });

  it('are four, each with a unique uid, panels with unique ids, and a query on every graph', () => {
    assert.deepEqual(dashboards.map(({ file }) => file).sort(), ['carshare-business.json', 'carshare-messaging.json', 'carshare-red.json', 'carshare-resilience.json']);
    assert.equal(new Set(dashboards.map(({ dashboard }) => dashboard.uid)).size, dashboards.length);
    for (const { file, dashboard } of dashboards) {
      const panels = panelsOf(dashboard.panels);
      assert.equal(new Set(panels.map((panel) => panel.id)).size, panels.length, `${file}: panel ids repeat`);
      for (const panel of panels.filter((candidate) => candidate.type !== 'row')) {
        assert.ok((panel.targets ?? []).length > 0 && panel.targets?.every((target) => (target.expr ?? '').length > 0), `${file}: "${panel.title}" has no query`);
      }
    }
  });

  describe('query only metrics that the running platform exposes', () => {
    let test: TestPlatform;
    const exposed = new Set<string>();
    before(async () => {
      test = await startTestPlatform();
      // The gateway's /metrics may live on an operations listener apart from its public port.
      const gateway = test.platform.module(gatewayDescriptor) as { opsUrl?: () => string };
      for (const [service, url] of test.platform.urls) {
        const urls = service === 'gateway' && typeof gateway.opsUrl === 'function' ? [gateway.opsUrl(), url] : [url];
        for (const base of urls) {
          const response = await fetch(`${base}/metrics`);
          if (!response.ok) continue;
          for (const name of exposedNames(await response.text())) exposed.add(name);
        }
      }
    });
    after(() => test.close());

    it('from every service: RED, messaging, resilience, process and business series', () => {
      for (const name of ['http_server_request_duration_seconds_bucket', 'rpc_server_duration_seconds_count', 'carshare_unlock_attempts_total', 'process_cpu_seconds_total', 'messaging_outbox_pending_messages']) {
        assert.ok(exposed.has(name), `no ${name} on any /metrics`);
      }
    });

    for (const { file, dashboard } of dashboards) {
      it(`${file}: every panel's metric is on some service's /metrics`, () => {
        const used = new Set(queriesOf(dashboard).flatMap(metricNamesIn));
        assert.ok(used.size >= 5, `${file} queries only ${[...used].join(', ')}`);
        const missing = [...used].filter((name) => !exposed.has(name)).sort();
        assert.deepEqual(missing, [], `${file} queries metrics no service exposes`);
      });
    }
  });
});
