import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { openSqlEngine, temporaryDirectory, type SqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { SimulatedPaymentProvider } from './simulated-payment-provider.ts';
import { SqlProcessorStore, allProcessorIntents } from './simulated-processor-store.ts';

// The simulated processor stands for another company's system: its holds and remembered answers
// must outlive the payment process that called it (issue 14, acceptance 3). Each test "restarts"
// the processor by opening its store again from scratch: on PGlite a folder closed and reopened,
// on PostgreSQL (DATABASE_URL) a second connection pool, which is also what a second payment
// replica is.

const engines = [{ name: 'PGlite folder', url: undefined }, ...(process.env['DATABASE_URL'] ? [{ name: 'PostgreSQL', url: process.env['DATABASE_URL'] }] : [])];

function refusal(reason: string) {
  return (error: unknown) => isAppError(error) && error.reason === reason;
}

for (const engine of engines) {
  describe(`simulated processor on ${engine.name}`, () => {
    const schema = `sim_processor_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    let folder: Awaited<ReturnType<typeof temporaryDirectory>>;
    let current: SqlEngine | undefined;

    /** A processor as a freshly started process sees it: new engine, new store, nothing cached. */
    async function startProcessor(): Promise<{ provider: SimulatedPaymentProvider; store: SqlProcessorStore; engine: SqlEngine }> {
      const opened = await openSqlEngine({ databaseUrl: engine.url, dataDir: folder.path });
      const store = new SqlProcessorStore(opened.forService('payment'), schema);
      await store.prepare();
      return { provider: new SimulatedPaymentProvider({}, { store }), store, engine: opened };
    }

    /** The processor process "dies": its engine is closed; on PGlite only the folder remains. */
    async function restart(): Promise<{ provider: SimulatedPaymentProvider; store: SqlProcessorStore; engine: SqlEngine }> {
      await current?.close();
      const started = await startProcessor();
      current = started.engine;
      return started;
    }

    before(async () => {
      folder = await temporaryDirectory('sim-processor-');
    });

    after(async () => {
      if (engine.url) {
        const cleanup = await openSqlEngine({ databaseUrl: engine.url, dataDir: folder.path });
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(cleanup.forService('payment').db);
        await cleanup.close();
      }
      await current?.close();
      await folder.remove();
    });

    it('finds a hold placed before a restart, voids it, and answers every key as before', async () => {
      const first = await restart();
      const authorize = { cardToken: 'tok_visa', amountCents: 5_000, currency: 'EUR', reference: 'trip-a', idempotencyKey: 'authorize:trip-a' };
      const { intentId } = await first.provider.authorize(authorize);
      await assert.rejects(first.provider.authorize({ ...authorize, cardToken: 'tok_chargeDeclined', idempotencyKey: 'authorize:declined' }), refusal('PAYMENT_DECLINED'));

      const second = await restart();
      assert.equal((await second.provider.intent(intentId))?.status, 'requires_capture', 'the hold outlived the process');
      assert.deepEqual(await second.provider.authorize(authorize), { intentId }, 'same key, same parameters: the first answer');
      await assert.rejects(second.provider.authorize({ ...authorize, amountCents: 6_000 }), refusal('IDEMPOTENCY_KEY_REUSED'));
      await assert.rejects(second.provider.authorize({ ...authorize, cardToken: 'tok_chargeDeclined', idempotencyKey: 'authorize:declined' }), refusal('PAYMENT_DECLINED'));
      assert.equal(second.provider.calls.authorize, 0, 'the restarted processor answered from memory of its keys, placing nothing');

      await second.provider.void({ intentId, idempotencyKey: `void:${intentId}` });
      const third = await restart();
      await third.provider.void({ intentId, idempotencyKey: `void:${intentId}` });
      assert.equal(third.provider.calls.void, 0);
      assert.equal((await third.provider.intent(intentId))?.status, 'canceled');
      assert.deepEqual(await third.provider.openHolds(), []);
    });

    it('captures a hold once across a restart, and a charge above it once, both listed by reference', async () => {
      const first = await restart();
      const { intentId } = await first.provider.authorize({ cardToken: 'tok_visa', amountCents: 5_000, currency: 'EUR', reference: 'trip-b', idempotencyKey: 'authorize:trip-b' });
      await first.provider.capture({ intentId, amountCents: 5_000, idempotencyKey: 'capture:b:hold' });
      const second = await restart();
      await second.provider.capture({ intentId, amountCents: 5_000, idempotencyKey: 'capture:b:hold' });
      await second.provider.charge({ cardToken: 'tok_visa', amountCents: 700, currency: 'EUR', reference: 'trip-b', idempotencyKey: 'capture:b:extra' });
      const third = await restart();
      await third.provider.charge({ cardToken: 'tok_visa', amountCents: 700, currency: 'EUR', reference: 'trip-b', idempotencyKey: 'capture:b:extra' });
      await assert.rejects(third.provider.capture({ intentId, amountCents: 5_000, idempotencyKey: 'capture:b:again' }), refusal('INTENT_STATE'));
      const own = (await allProcessorIntents(third.store, 1)).filter((intent) => intent.reference === 'trip-b');
      assert.deepEqual(own.map((intent) => [intent.kind, intent.status, intent.capturedCents]).sort(), [['charge', 'succeeded', 700], ['hold', 'succeeded', 5_000]]);
    });

    it('two instances on one store (replicas): one hold per key, one winner between capture and void', async () => {
      const a = await restart();
      // PGlite is one process's: there the second instance is a second processor on the same engine.
      const b = engine.url ? await startProcessor() : { ...a, provider: new SimulatedPaymentProvider({}, { store: new SqlProcessorStore(a.engine.forService('payment'), schema) }) };
      try {
        const authorize = { cardToken: 'tok_visa', amountCents: 2_500, currency: 'EUR', reference: 'trip-c', idempotencyKey: 'authorize:trip-c' };
        const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 ? a : b).provider.authorize(authorize)));
        assert.equal(new Set(answers.map((answer) => answer.intentId)).size, 1, JSON.stringify(answers));
        assert.equal(a.provider.calls.authorize + b.provider.calls.authorize, 1, 'the processor placed one hold');
        const intentId = (answers[0] as { intentId: string }).intentId;
        const results = await Promise.allSettled([
          a.provider.capture({ intentId, amountCents: 2_000, idempotencyKey: 'capture:c' }),
          b.provider.void({ intentId, idempotencyKey: 'void:c' }),
        ]);
        assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1, JSON.stringify(results));
        const intent = await a.provider.intent(intentId);
        assert.ok(intent?.status === 'canceled' || (intent?.status === 'succeeded' && intent.capturedCents === 2_000), JSON.stringify(intent));
      } finally {
        if (b.engine !== a.engine) await b.engine.close();
      }
    });
  });
}
