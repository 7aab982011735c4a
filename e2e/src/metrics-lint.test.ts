import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { gatewayDescriptor } from '@carshare/gateway-service';
import { userDescriptor } from '@carshare/user-service';
import { signUpAndLogIn } from './support/sign-up.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

const promtoolMissing = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error !== undefined;

/** promtool's lint of a Prometheus text page: its complaints, one a line; empty when it has none. */
function promtoolProblems(page: string): string {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8', timeout: 30_000 });
  const said = `${result.stdout}${result.stderr}`.trim();
  return result.status === 0 && said === '' ? '' : said || `promtool exited with ${result.status}`;
}

async function until(probe: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(
  'every /metrics passes promtool check metrics',
  { skip: promtoolMissing ? 'promtool is not installed (apt-get install prometheus ships it): metric names were not linted' : false },
  () => {
    let test: TestPlatform;
    const pages = new Map<string, string>();

    before(async () => {
      test = await startTestPlatform();
      let consumed = 0;
      await test.platform.module(userDescriptor).messaging.subscribe('e2e.metrics-lint', ['user.registered'], async () => {
        consumed += 1;
      });
      // An HTTP route, an RPC through the gateway's client to the user service, an event through
      // the outbox to a consumer, an unknown route and a refused body: every family gets samples.
      const signup = await signUpAndLogIn(test.api, { email: 'lint@example.com', password: 'amber kettle 19', displayName: 'Lint' });
      const me = await test.api.call('GET', '/v1/me', { token: signup.tokens.accessToken });
      assert.equal(me.status, 200, me.text);
      assert.equal((await test.api.call('GET', '/v1/nowhere')).status, 404);
      assert.equal((await test.api.call('POST', '/v1/auth/login', { body: { email: 'lint@example.com' } })).status, 400);
      await until(() => consumed > 0, 'the user.registered event to reach its consumer');
      // The gateway's metrics are on its operations listener; its public port has none (ADR 0023).
      const opsUrl = test.platform.module(gatewayDescriptor).opsUrl();
      for (const [service, url] of test.platform.urls) pages.set(service, await (await fetch(`${service === 'gateway' ? opsUrl : url}/metrics`)).text());
    });
    after(() => test.close());

    it('reports nothing on any service', () => {
      assert.ok(pages.size >= 2, `scraped ${[...pages.keys()].join(', ')}`);
      for (const [service, page] of pages) assert.equal(promtoolProblems(page), '', `${service}'s /metrics`);
    });

    it('carries RED metrics under their OpenTelemetry names and Node.js metrics under prom-client\'s own', () => {
      const all = [...pages.values()].join('\n');
      for (const family of [
        'http_server_request_duration_seconds_count{',
        'rpc_client_duration_seconds_count{',
        'rpc_server_duration_seconds_count{',
        'messaging_outbox_relay_lag_seconds_count{',
        'process_cpu_user_seconds_total{',
        'nodejs_eventloop_lag_seconds{',
      ]) {
        assert.ok(all.includes(`\n${family}`), `no ${family.slice(0, -1)} samples`);
      }
      assert.match(all, /http_server_request_duration_seconds_count\{[^}]*http_route="\/v1\/me"[^}]*http_response_status_code="200"/);
      assert.match(all, /rpc_client_duration_seconds_count\{[^}]*rpc_service="user"[^}]*rpc_response_status_code="OK"/);
      assert.doesNotMatch(all, /^carshare_(process|nodejs)_/m);
    });

    it('counts each event a consumer handled, with its duration and outcome', () => {
        const all = [...pages.values()].join('\n');
        assert.ok(/\nmessaging_process_duration_seconds_count\{[^}]*group="e2e\.metrics-lint"/.test(all), 'no messaging_process_duration_seconds for the group');
        assert.ok(/\nmessaging_client_consumed_messages_total\{[^}]*outcome="ok"/.test(all), 'no messaging_client_consumed_messages_total{outcome="ok"}');
    });
  },
);
