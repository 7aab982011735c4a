import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { defineRpcService } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { Type } from 'typebox';
import { createBackgroundContext } from './background-context.ts';
import { StaticDiscovery } from './discovery.ts';
import { NotFound } from './errors.ts';
import { createHttpServer, type HttpServer } from './http-server.ts';
import { createRpcClient } from './rpc-client.ts';
import { registerRpcService } from './rpc-server.ts';

const promtoolMissing = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error !== undefined;

const lookupRpc = defineRpcService('lookup', {
  Find: {
    summary: 'finds a thing or says NOT_FOUND',
    input: Type.Object({ id: Type.String() }, { additionalProperties: false }),
    output: Type.Object({ id: Type.String() }),
    idempotent: true,
    errors: ['THING_NOT_FOUND'],
    // The test's client signs as the module it belongs to (ADR 0012), so the module admits itself.
    callers: ['lookup'],
  },
});

describe(
  'the metrics of one module with process metrics',
  { skip: promtoolMissing ? 'promtool is not installed (apt-get install prometheus ships it): metric names were not linted' : false },
  () => {
    const observability = createObservability({ service: 'lookup', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: true });
    let server: HttpServer;
    let page = '';

    before(async () => {
      server = createHttpServer({ observability, errorStyle: 'rpc' });
      registerRpcService(server, lookupRpc, {
        Find: async ({ id }) => {
          if (id === 'missing') throw NotFound('THING_NOT_FOUND', 'no such thing');
          return { id };
        },
      }, { observability });
      server.get('/explode', async () => {
        throw new Error('boom');
      });
      await server.listen({ host: '127.0.0.1', port: 0 });
      const address = server.server.address();
      assert.ok(address && typeof address === 'object');
      const base = `http://127.0.0.1:${address.port}`;
      const client = createRpcClient(lookupRpc, { discovery: new StaticDiscovery({ lookup: [base] }), observability });
      const ctx = createBackgroundContext(observability, 'metrics lint', { budgetMs: 5_000 });
      await client.Find({ id: 'a' }, ctx);
      await assert.rejects(client.Find({ id: 'missing' }, ctx), { code: 'NOT_FOUND' });
      ctx.dispose();
      await client.close();
      await fetch(`${base}/explode`);
      await fetch(`${base}/nowhere`);
      page = await (await fetch(`${base}/metrics`)).text();
    });
    after(() => server.close());

    it('passes promtool check metrics', () => {
      const result = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8', timeout: 30_000 });
      assert.equal(`${result.stdout}${result.stderr}`.trim(), '');
      assert.equal(result.status, 0);
    });

    it('names HTTP and RPC histograms after the OpenTelemetry conventions, process metrics as prom-client does', () => {
      assert.match(page, /^http_server_request_duration_seconds_count\{[^}]*http_request_method="POST",http_route="\/rpc\/lookup\/Find",http_response_status_code="200"\} 1$/m);
      assert.match(page, /^rpc_server_duration_seconds_count\{[^}]*rpc_service="lookup",rpc_method="Find",rpc_response_status_code="NOT_FOUND"\} 1$/m);
      assert.match(page, /^rpc_client_duration_seconds_count\{[^}]*rpc_service="lookup",rpc_method="Find",rpc_response_status_code="OK"\} 1$/m);
      assert.match(page, /^carshare_unhandled_errors_total\{[^}]*where="http"[^}]*\} 1$/m);
      assert.match(page, /^process_cpu_user_seconds_total\{/m);
      assert.match(page, /^nodejs_heap_size_used_bytes\{/m);
      assert.doesNotMatch(page, /^nodejs_active_handles_total/m);
    });
  },
);
