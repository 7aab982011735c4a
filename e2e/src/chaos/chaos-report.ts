import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@carshare/testing';
import type { DrillSettings } from './drill-settings.ts';
import type { DrillResult } from './fault-drill.ts';

export interface ChaosReport {
  generatedAt: string;
  form: DrillSettings['form'];
  node: string;
  durationMs: number;
  settings: DrillSettings;
  topology: string;
  drills: DrillResult[];
}

/**
 * The full form keeps its report with the benchmarks (bench/results/ is gitignored), so runs can
 * be compared; the short form, run by every `npm test`, writes to a temp folder.
 */
export function writeChaosReport(report: ChaosReport): string {
  const stamp = report.generatedAt.replaceAll(':', '-').replaceAll('.', '-');
  const folder = report.form === 'full' ? join(repoRoot, 'bench', 'results') : mkdtempSync(join(tmpdir(), 'carshare-chaos-report-'));
  mkdirSync(folder, { recursive: true });
  const path = join(folder, report.form === 'full' ? `chaos-${stamp}.json` : 'chaos-report.json');
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

const ms = (value: number | null | undefined) => (value === null || value === undefined ? '–' : String(Math.round(value)));
const pct = (value: number | null | undefined) => (value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}`);

function cell(text: string, width: number, align: 'left' | 'right' = 'right'): string {
  return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

/** /v1/me during the fault as counts: fresh/stale/503/504/other. */
function meMix(result: DrillResult): string {
  const during = result.phases.during.me;
  const stale = during.outcomes['stale'] ?? 0;
  const fresh = during.outcomes['fresh'] ?? 0;
  const s503 = during.statuses['503'] ?? 0;
  const s504 = during.statuses['504'] ?? 0;
  const other = during.requests - fresh - stale - s503 - s504;
  return `${fresh}/${stale}/${s503}/${s504}/${other}`;
}

/** One screen: a row per fault, latencies of /v1/me per phase, what it answered, the breaker, recovery. */
export function renderSummaryTable(report: ChaosReport, reportPath: string): string {
  const header = [
    cell('fault', 18, 'left'),
    cell('me p50/p99 before', 18),
    cell('during', 12),
    cell('after', 10),
    cell('me during fr/st/503/504/x', 26),
    cell('healthy%', 9),
    cell('open@req', 9),
    cell('CO p99', 7),
    cell('hp99', 5),
    cell('max ms', 7),
    cell('TTR ms', 7),
    cell('load', 5),
    cell('verdict', 9),
  ].join(' ');
  const rows = report.drills.map((result) => {
    const p = (phase: 'before' | 'during' | 'after') => `${ms(result.phases[phase].me.p50Ms)}/${ms(result.phases[phase].me.p99Ms)}`;
    const verdict = result.violations.length === 0 ? 'ok' : result.knownBug ? 'BUG(todo)' : 'FAIL';
    return [
      cell(result.fault, 18, 'left'),
      cell(p('before'), 18),
      cell(p('during'), 12),
      cell(p('after'), 10),
      cell(meMix(result), 26),
      cell(pct(result.phases.during.healthy.successRate), 9),
      cell(result.breaker.requestsBeforeOpen === null ? '–' : `${result.breaker.requestsBeforeOpen}`, 9),
      cell(ms(result.breaker.circuitOpenP99Ms), 7),
      cell(ms(result.phases.during.healthy.p99Ms), 5),
      cell(ms(result.maxLatencyMs), 7),
      cell(ms(result.timeToRecoverMs), 7),
      cell(result.loadAverage.end.toFixed(1), 5),
      cell(verdict, 9),
    ].join(' ');
  });
  const s = report.settings;
  const problems = report.drills.flatMap((result) => result.violations.map((violation) => `  ${result.fault}: ${violation}`));
  const strictMisses = report.drills.flatMap((result) => result.strictTimingMisses.map((miss) => `  ${result.fault}: ${miss}`));
  return [
    `chaos drills (${report.form} form, ${Math.round(report.durationMs / 1000)} s): deadline ${s.deadlineMs} ms, breaker ${s.breaker.windowSize}/${s.breaker.minimumCalls}/${s.breaker.failureRatePercent} % cooldown ${s.breaker.cooldownMs} ms, ` +
      `workers me ${s.load.workers.me} direct ${s.load.workers.userDirect} healthy ${s.load.workers.healthy}, phases ${s.phases.beforeMs}/${s.phases.duringMs}/${s.phases.afterMs} ms`,
    header,
    '─'.repeat(header.length),
    ...rows,
    'me = GET /v1/me (rider); fr/st = 200 fresh / 200 stale[user]; x = anything else; healthy% = 2xx of GET /v1/admin/faults during the fault;',
    'open@req = user-dependent requests sent from the first failure until the breaker opened; CO p99 = latency of 503 CIRCUIT_OPEN;',
    'hp99 = p99 of the healthy route during the fault (the noise floor of the box); TTR = removal → first of N fresh;',
    `load = 1-min load average at the drill's end (${cpus().length} cores): far above the core count, every latency here is inflated.`,
    ...(problems.length > 0 ? ['violations:', ...problems] : []),
    ...(strictMisses.length > 0 ? ['bare timing bounds missed (checked with the noise floor added; on an idle box these are failures):', ...strictMisses] : []),
    `report: ${reportPath}`,
  ].join('\n');
}
