import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tripRpc } from '@carshare/contracts';
import { createObservability } from '@carshare/observability';
import { LiveConfig, StaticDiscovery, createBackgroundContext, createHttpServer, createRpcClient, registerRpcService, type HttpServer, type RpcClient } from '@carshare/platform';
import { loadTripConfig, tariffFor } from '../config.ts';
import { previewPrice } from '../domain/pricing.ts';
import { settingsOf } from '../module.ts';
import { createPricePreview } from '../price-preview.ts';
import type { TripSettings } from '../ports.ts';
import { tripRpcHandlers, type TripUseCases } from './rpc-handlers.ts';

// PreviewPrice over the real RPC server and client on loopback, against the live tariff table.

const observability = createObservability({ service: 'trip', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
// The gateway is the caller the contract admits; the client signs as the service it observes for.
const gatewayObservability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });

describe('trip RPC PreviewPrice', () => {
  const settings = new LiveConfig<TripSettings>(settingsOf(loadTripConfig()));
  let server: HttpServer;
  let client: RpcClient<typeof tripRpc.methods>;

  before(async () => {
    server = createHttpServer({ observability, errorStyle: 'rpc' });
    // Only the preview is wired: the other use cases need a database this test has no use for.
    const service = createPricePreview({ settings }) as unknown as TripUseCases;
    registerRpcService(server, tripRpc, tripRpcHandlers(service) as never, { observability });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    assert.ok(address && typeof address === 'object');
    client = createRpcClient(tripRpc, { discovery: new StaticDiscovery({ trip: [`http://127.0.0.1:${address.port}`] }), observability: gatewayObservability });
  });
  after(() => server.close());

  async function preview(input: { category: 'small' | 'compact' | 'premium' | 'van'; minutes: number; km: number }) {
    const ctx = createBackgroundContext(gatewayObservability, 'test', { budgetMs: 5_000 });
    try {
      return await client.PreviewPrice(input, ctx);
    } finally {
      ctx.dispose();
    }
  }

  it("answers previewPrice over the category's current tariff, every line and the total", async () => {
    const answer = await preview({ category: 'van', minutes: 30, km: 10 });
    const expected = previewPrice(tariffFor(settings.get().tariffs, 'van'), 30, 10);
    assert.equal(answer.totalCents, expected.totalCents);
    assert.equal(answer.vatCents, expected.vatCents);
    assert.equal(answer.currency, expected.currency);
    assert.equal(answer.tariffVersion, settings.get().tariffs.version);
    assert.deepEqual(answer.meteredLines, expected.meteredLines);
    assert.equal(answer.packageApplied, null);
    assert.deepEqual({ category: answer.category, minutes: answer.minutes, km: answer.km }, { category: 'van', minutes: 30, km: 10 });
    // 199 unlock + 30 × 45 + 10 km × 19 by the default table: the sum a rider sees, checked by hand once.
    assert.equal(answer.totalCents, 199 + 30 * 45 + 10 * 19);
  });

  it('names the package that caps a long trip, and what it saves', async () => {
    const answer = await preview({ category: 'compact', minutes: 300, km: 50 });
    const expected = previewPrice(tariffFor(settings.get().tariffs, 'compact'), 300, 50);
    assert.ok(expected.packageApplied, 'the default table caps a 5-hour trip');
    assert.deepEqual(answer.packageApplied, expected.packageApplied);
    assert.equal(answer.totalCents, expected.packageApplied.cents);
    assert.ok(answer.totalCents < answer.meteredCents);
  });

  it('a reloaded tariff table prices the next preview at once, with its version', async () => {
    const before = settings.get();
    try {
      const tariffs = structuredClone(before.tariffs);
      tariffs.version = 'preview-test-2';
      tariffs.byCategory.small.drivingPerMinuteCents += 10;
      settings.set({ ...before, tariffs });
      const answer = await preview({ category: 'small', minutes: 10, km: 0 });
      assert.equal(answer.tariffVersion, 'preview-test-2');
      assert.equal(answer.totalCents, previewPrice(tariffFor(tariffs, 'small'), 10, 0).totalCents);
    } finally {
      settings.set(before);
    }
  });

  for (const [name, input] of [
    ['0 minutes', { category: 'small', minutes: 0, km: 1 }],
    ['more than a day', { category: 'small', minutes: 1441, km: 1 }],
    ['fractional minutes', { category: 'small', minutes: 1.5, km: 1 }],
    ['negative km', { category: 'small', minutes: 10, km: -1 }],
    ['over 1,000 km', { category: 'small', minutes: 10, km: 1001 }],
    ['an unknown category', { category: 'tank', minutes: 10, km: 1 }],
  ] as const) {
    it(`refuses ${name} as invalid input`, async () => {
      await assert.rejects(preview(input as never), (error: { code?: string; reason?: string }) => {
        assert.match(JSON.stringify({ code: error.code, reason: error.reason }), /INVALID|VALIDATION/);
        return true;
      });
    });
  }
});
