import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { renderSummaryTable, writeChaosReport } from './chaos-report.ts';
import { setupBudget, startChaosTopology, type ChaosTopology } from './chaos-topology.ts';
import { drillSettings } from './drill-settings.ts';
import { runFaultDrill, type DrillResult, type FaultSpec } from './fault-drill.ts';

const settings = drillSettings(process.env['CHAOS_FULL'] === '1');

type FaultName = 'latency' | 'reset' | 'blackhole' | 'close-mid-response' | 'sigstop' | 'sigkill' | 'rpc-error-switch';

/**
 * Drills that show a platform bug: the test keeps its assertions and is marked todo, so the
 * suite stays green while the bug is open. Each entry says what is wrong and where. (None open:
 * close-mid-response was one until e05e7fb, a 200 with a cut body reached callers as `undefined`:
 * /v1/me 500, an empty 200 from /v1/admin/users/:id, and a success for the breaker.)
 */
const knownBugs: Partial<Record<FaultName, string>> = {};

function faultSpec(name: FaultName, topology: ChaosTopology): FaultSpec {
  const { proxy } = topology;
  const pass = async () => proxy.setMode({ kind: 'pass' });
  const setSwitch = async (percent: number) => {
    const response = await topology.api.call('PUT', `/v1/admin/faults/${encodeURIComponent('rpc.error:user')}`, {
      token: topology.operatorToken,
      body: { percent },
      headers: setupBudget,
    });
    assert.equal(response.status, 200, `PUT rpc.error:user ${percent} %: ${response.text}`);
  };
  const signalUser = (signal: NodeJS.Signals): void => {
    process.kill(topology.user().pid, signal);
  };
  switch (name) {
    case 'latency':
      return {
        name,
        description: `proxy delays every request chunk ${settings.proxyLatencyMs} ms (deadline ${settings.deadlineMs} ms)`,
        inject: async () => proxy.setMode({ kind: 'latency', ms: settings.proxyLatencyMs }),
        remove: pass,
      };
    case 'reset':
      return { name, description: 'proxy resets every connection, open or new (TCP RST)', inject: async () => proxy.setMode({ kind: 'reset' }), remove: pass };
    case 'blackhole':
      return { name, description: 'proxy accepts connections and never answers', inject: async () => proxy.setMode({ kind: 'blackhole' }), remove: pass };
    case 'close-mid-response': {
      // Inside the body, after a complete "200 OK" head: the nastier half of a cut answer.
      const afterBytes = topology.userAnswerBytes.head + Math.floor(topology.userAnswerBytes.body / 2);
      return {
        name,
        description: `proxy cuts each connection's answer after ${afterBytes} bytes (head ${topology.userAnswerBytes.head} + half the ${topology.userAnswerBytes.body}-byte body)`,
        inject: async () => proxy.setMode({ kind: 'close-mid-response', afterBytes }),
        remove: pass,
      };
    }
    case 'sigstop':
      return { name, description: 'user service process stopped (SIGSTOP), then SIGCONT', inject: async () => signalUser('SIGSTOP'), remove: async () => signalUser('SIGCONT') };
    case 'sigkill':
      return {
        name,
        description: 'user service process killed (SIGKILL), then started again on the same port and data folder',
        inject: async () => signalUser('SIGKILL'),
        remove: async () => {
          await topology.restartUser();
        },
      };
    case 'rpc-error-switch':
      return {
        name,
        description: 'fault switch rpc.error:user at 100 % via PUT /v1/admin/faults, then 0',
        inject: () => setSwitch(100),
        remove: () => setSwitch(0),
      };
    default:
      throw new Error(`unknown fault ${String(name satisfies never)}`);
  }
}

const faults: readonly FaultName[] = ['latency', 'reset', 'blackhole', 'close-mid-response', 'sigstop', 'sigkill', 'rpc-error-switch'];

describe(`chaos drills against the distributed topology (${settings.form} form)`, () => {
  let topology: ChaosTopology | undefined;
  const results: DrillResult[] = [];
  const startedAt = performance.now();

  before(async () => {
    topology = await startChaosTopology(settings);
  });

  after(async () => {
    try {
      if (results.length > 0) {
        const report = {
          generatedAt: new Date().toISOString(),
          form: settings.form,
          node: process.version,
          durationMs: performance.now() - startedAt,
          settings,
          topology: 'processes: gateway → fault proxy (TCP, in the test) → user service (PGlite in a temp folder); rate limits off',
          drills: results,
        };
        console.log(`\n${renderSummaryTable(report, writeChaosReport(report))}\n`);
      }
    } finally {
      await topology?.close();
    }
  });

  for (const name of faults) {
    const knownBug = knownBugs[name];
    it(
      `${name}: answers on time, opens the breaker within its window, keeps the healthy route up and recovers by itself`,
      { ...(knownBug && { todo: knownBug }) },
      async () => {
        assert.ok(topology, 'the topology did not start');
        const result = await runFaultDrill(topology, settings, faultSpec(name, topology));
        if (knownBug) result.knownBug = knownBug;
        results.push(result);
        assert.deepEqual(result.violations, [], `${name} (${result.description}):\n  ${result.violations.join('\n  ')}`);
      },
    );
  }
});
