import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { measurePolicyOverhead } from '@carshare/resilience';
import { atLeast, atMost, formatGoal, type BenchmarkRun } from './benchmark.ts';
import { writeBenchGatewayConfig } from './gateway/bench-gateway-config.ts';
import { checkTarget, isRider, logInRider, meTarget, type PlatformInfo } from './gateway/gateway-targets.ts';
import { measureLoad, type LoadStats } from './measure-load.ts';
import { spawnChildServer } from './spawn-child-server.ts';

const platformScript = resolve(import.meta.dirname, 'gateway/platform-server.ts');
export const resilienceGoals = { policyOverheadNs: 2_000, rateLimitedOverUnlimited: 0.9 } as const;

function serverMicrosPerRequest(stats: LoadStats): number {
  return ((stats.cpu.server ?? Number.NaN) * stats.durationSec * 1e6) / Math.max(1, stats.requests);
}

/**
 * Issue 4's costs: the client policy stack (deadline, retry + budget, bulkhead, breaker) around a
 * no-op call, and GET /v1/me through the gateway with rate limiting on (limits out of reach, so
 * every request pays for its checks) against the same platform with rate limiting off.
 */
export const runResilienceBenchmark: BenchmarkRun = async (options) => {
  const iterations = Number(options.flags['iterations'] ?? 1_000_000);
  const policy = await measurePolicyOverhead(iterations);

  const workDir = await mkdtemp(join(tmpdir(), 'carshare-bench-resilience-'));
  const runs: Record<'limitsOn' | 'limitsOff', LoadStats | undefined> = { limitsOn: undefined, limitsOff: undefined };
  try {
    const onConfig = await writeBenchGatewayConfig(workDir);
    const offConfig = join(workDir, 'limits-off.json');
    await writeFile(offConfig, JSON.stringify({ rateLimits: { enabled: false } }));
    // Alternating, best of two each: a busy neighbour or a late JIT then skews both sides alike.
    for (const [run, configFile] of [['limitsOff', offConfig], ['limitsOn', onConfig], ['limitsOff', offConfig], ['limitsOn', onConfig]] as const) {
      process.stderr.write(`· GET /v1/me with rate limiting ${run === 'limitsOn' ? 'on' : 'off'}\n`);
      const platform = await spawnChildServer<PlatformInfo>(platformScript, [join(workDir, `pg-${run}-${Date.now()}`)], { env: { CARSHARE_CONFIG: configFile } });
      try {
        const session = await logInRider(platform.info.gatewayUrl);
        const me = meTarget(platform.info, session);
        await checkTarget(me, isRider(session.riderId), 'GET /v1/me');
        // WebAssembly and JIT settle first, as in the gateway benchmark.
        await measureLoad(me, { durationSec: 5, warmupSec: 0, connections: options.connections });
        const stats = await measureLoad(me, { durationSec: options.durationSec, warmupSec: options.warmupSec, connections: options.connections, serverPid: platform.pid });
        if (!runs[run] || stats.requestsPerSec > (runs[run] as LoadStats).requestsPerSec) runs[run] = stats;
      } finally {
        await platform.stop();
      }
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  const on = runs.limitsOn as LoadStats;
  const off = runs.limitsOff as LoadStats;
  const goals = [
    atMost('policy stack overhead, ns/call', policy.overheadNsPerCall, resilienceGoals.policyOverheadNs),
    atLeast('rate limits on ÷ off (req/s)', on.requestsPerSec / off.requestsPerSec, resilienceGoals.rateLimitedOverUnlimited),
  ];
  const row = (name: string, stats: LoadStats) =>
    `${name.padEnd(26)} ${Math.round(stats.requestsPerSec).toLocaleString('en').padStart(8)} ${stats.latencyMs.p50.toFixed(2).padStart(8)} ${stats.latencyMs.p99.toFixed(2).padStart(8)} ${String(stats.non2xx).padStart(7)} ${serverMicrosPerRequest(stats).toFixed(0).padStart(11)}`;
  const summary = [
    `resilience benchmark: policy stack ${iterations.toLocaleString('en')} calls; load ${options.durationSec} s, ${options.connections} connections`,
    '',
    `policy stack on a no-op call: bare ${policy.bareNsPerCall.toFixed(0)} ns, full ${policy.fullStackNsPerCall.toFixed(0)} ns, overhead ${policy.overheadNsPerCall.toFixed(0)} ns/call`,
    '',
    `${'run'.padEnd(26)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'non-2xx'.padStart(7)} ${'µs CPU/req'.padStart(11)}`,
    row('/v1/me, rate limits on', on),
    row('/v1/me, rate limits off', off),
    '',
    'goals',
    ...goals.map((goal) => `  ${formatGoal(goal, 34)}`),
    `  (by server CPU per request: on ÷ off = ${(serverMicrosPerRequest(off) / serverMicrosPerRequest(on)).toFixed(3)})`,
  ].join('\n');
  return { results: { policy, runs }, summary, goals };
};
