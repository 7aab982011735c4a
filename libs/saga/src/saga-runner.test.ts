import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { openSqlEngine, type ServiceDatabase, type SqlEngine } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { defineSaga, maxPlans, stalePlan, type SagaDefinition, type SagaStep } from './define-saga.ts';
import { SagaRunner, type SagaEvent, type SagaRunnerOptions } from './saga-runner.ts';
import { migrateSagaTables } from './saga-tables.ts';

interface TripInput {
  riderId: string;
  carId: string;
}

/** What the steps did, in order, with the key each was given. */
interface Journal {
  entries: string[];
  keys: Map<string, string[]>;
}

function newJournal(): Journal {
  return { entries: [], keys: new Map() };
}

function note(journal: Journal, entry: string, key: string): void {
  journal.entries.push(entry);
  journal.keys.set(entry, [...(journal.keys.get(entry) ?? []), key]);
}

/** A gate a step waits at until the test opens it; it gives up when the step's signal aborts. */
function gate(): { wait(signal: AbortSignal): Promise<void>; open(): void; reached: Promise<void> } {
  let open = (): void => {};
  let reach = (): void => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return {
    reached,
    open: () => open(),
    wait(signal) {
      reach();
      return new Promise<void>((resolve, reject) => {
        if (signal.aborted) reject(signal.reason as Error);
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        void opened.then(resolve);
      });
    },
  };
}

/**
 * The trip saga's shape: a local first step (the trip row in the service's own schema), then three
 * remote ones. `fail` names steps whose invoke throws; `behaviour` replaces a step's invoke.
 */
function tripSaga(
  journal: Journal,
  options: {
    name?: string;
    fail?: readonly string[];
    failCompensation?: (step: string, attempt: number) => boolean;
    hold?: Partial<Record<string, (signal: AbortSignal) => Promise<void>>>;
    holdCompensation?: Partial<Record<string, (signal: AbortSignal) => Promise<void>>>;
    onInvoke?: (step: string) => void;
    timeoutMs?: number;
    maxCompensationAttempts?: number;
  } = {},
): SagaDefinition<TripInput> {
  const remote = (name: string, result: (input: TripInput) => unknown): SagaStep<TripInput> => ({
    name,
    async invoke(ctx) {
      note(journal, `invoke:${name}`, ctx.idempotencyKey);
      options.onInvoke?.(name);
      await options.hold?.[name]?.(ctx.signal);
      if (options.fail?.includes(name)) throw new Error(`${name} refused`);
      return result(ctx.input);
    },
    async compensate(ctx) {
      note(journal, `compensate:${name}`, ctx.idempotencyKey);
      await options.holdCompensation?.[name]?.(ctx.signal);
      if (options.failCompensation?.(name, ctx.attempt)) throw new Error(`${name} compensation failed`);
    },
  });
  return defineSaga<TripInput>(
    options.name ?? 'trip.start',
    [
      {
        name: 'reserve-trip',
        local: true,
        async invoke(ctx) {
          note(journal, 'invoke:reserve-trip', ctx.idempotencyKey);
          await sql`insert into trip (id, rider_id, state) values (${ctx.sagaId}, ${ctx.input.riderId}, 'reserved')`.execute(ctx.trx);
          if (options.fail?.includes('reserve-trip')) throw new Error('reserve-trip refused');
          return { tripId: ctx.sagaId };
        },
        async compensate(ctx) {
          note(journal, 'compensate:reserve-trip', ctx.idempotencyKey);
          await sql`update trip set state = 'cancelled' where id = ${ctx.sagaId}`.execute(ctx.trx);
        },
      },
      remote('claim-car', (input) => ({ carId: input.carId, claim: `claim-of-${input.carId}` })),
      remote('authorise-deposit', () => ({ authorisation: 'auth-1', amountCents: 5000 })),
      remote('unlock-car', () => ({ unlocked: true })),
    ],
    { timeoutMs: options.timeoutMs, maxCompensationAttempts: options.maxCompensationAttempts },
  );
}

const input: TripInput = { riderId: 'rider-1', carId: 'car-7' };
const engines: Array<{ kind: string; databaseUrl?: string }> = [{ kind: 'PGlite' }];
if (process.env.DATABASE_URL) engines.push({ kind: 'PostgreSQL', databaseUrl: process.env.DATABASE_URL });

for (const engineChoice of engines) {
  describe(`saga runner (${engineChoice.kind})`, () => {
    let engine: SqlEngine;
    const schemas: string[] = [];

    before(async () => {
      engine = await openSqlEngine({ databaseUrl: engineChoice.databaseUrl, dataDir: 'memory://' });
    });

    after(async () => {
      if (engine.kind === 'postgres' && schemas.length > 0) {
        const db = engine.forService(schemas[0]!).db;
        for (const schema of schemas) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
      }
      await engine.close();
    });

    // A test that fails midway must not leave a runner with a step held open (and its lease
    // heartbeat ticking): that would keep the test process alive until the file times out.
    const runners: SagaRunner[] = [];
    afterEach(async () => {
      await Promise.all(runners.splice(0).map((started) => started.stop()));
    });

    async function freshDatabase(): Promise<ServiceDatabase> {
      const schema = `saga_test_${process.pid}_${schemas.length}_${Math.floor(Math.random() * 1e6)}`;
      schemas.push(schema);
      const database = engine.forService(schema);
      await migrateSagaTables(database);
      await sql`create table trip (id uuid primary key, rider_id text not null, state text not null)`.execute(database.db);
      return database;
    }

    function runner(database: ServiceDatabase, sagas: ReadonlyArray<SagaDefinition<any>>, options: Partial<SagaRunnerOptions> = {}): SagaRunner {
      const created = new SagaRunner({ database, sagas, compensationBackoff: { initialMs: 1, maxMs: 5 }, ...options });
      runners.push(created);
      return created;
    }

    it('runs every step in order, hands each the earlier results and a stable key, and records it completed', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const registry = new Registry();
      const seenResults: Array<Record<string, unknown>> = [];
      const base = tripSaga(journal);
      const saga = defineSaga<TripInput>(
        base.name,
        base.steps.map((step, index) =>
          index === 2 && step.local !== true
            ? {
                ...step,
                invoke: async (ctx) => {
                  seenResults.push({ ...ctx.results });
                  return await step.invoke(ctx);
                },
              }
            : step,
        ),
      );
      const sagas = runner(database, [saga], { registry });
      const outcome = await sagas.run(saga, input);

      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.error, null);
      assert.deepEqual(journal.entries, ['invoke:reserve-trip', 'invoke:claim-car', 'invoke:authorise-deposit', 'invoke:unlock-car']);
      assert.deepEqual(journal.keys.get('invoke:claim-car'), [`${outcome.id}:claim-car`]);
      assert.deepEqual(seenResults, [{ 'reserve-trip': { tripId: outcome.id }, 'claim-car': { carId: 'car-7', claim: 'claim-of-car-7' } }]);
      assert.deepEqual(outcome.results['unlock-car'], { unlocked: true });

      const record = await sagas.get(outcome.id);
      assert.equal(record?.status, 'completed');
      assert.equal(record?.owner, null, 'a finished saga is nobody’s');
      assert.ok(record?.finishedAt);
      assert.deepEqual(record?.input, input);
      assert.deepEqual(
        record?.steps.map((step) => [step.name, step.invokeStatus, step.invokeAttempts, step.compensateStatus]),
        [
          ['reserve-trip', 'done', 1, 'not_needed'],
          ['claim-car', 'done', 1, 'not_needed'],
          ['authorise-deposit', 'done', 1, 'not_needed'],
          ['unlock-car', 'done', 1, 'not_needed'],
        ],
      );
      const { rows } = await sql<{ state: string }>`select state from trip where id = ${outcome.id}`.execute(database.db);
      assert.deepEqual(rows, [{ state: 'reserved' }]);
      const metrics = await registry.getMetricsAsJSON();
      const value = (name: string, labels: Record<string, string>): number | undefined =>
        metrics
          .find((metric) => metric.name === name)
          ?.values.find((entry) => Object.entries(labels).every(([key, label]) => entry.labels[key] === label))?.value;
      assert.equal(value('saga_started_total', { saga: 'trip.start' }), 1);
      assert.equal(value('saga_finished_total', { saga: 'trip.start', outcome: 'completed' }), 1);
    });

    it('records a remote step done and the next remote step started in one statement, before calling the next', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      let seen: Array<{ step_name: string; invoke_status: string; invoke_attempts: number; writer: string }> = [];
      const saga = tripSaga(journal, {
        hold: {
          'authorise-deposit': async () => {
            // xmin is the transaction that wrote the row: one statement, one transaction.
            const { rows } = await sql<(typeof seen)[number]>`
              select step_name, invoke_status, invoke_attempts, xmin::text as writer from saga_step order by step_index`.execute(database.db);
            seen = rows;
          },
        },
      });
      const outcome = await runner(database, [saga]).run(saga, input);

      assert.equal(outcome.status, 'completed');
      assert.deepEqual(
        seen.map((row) => [row.step_name, row.invoke_status, row.invoke_attempts]),
        [
          ['reserve-trip', 'done', 1],
          ['claim-car', 'done', 1],
          ['authorise-deposit', 'started', 1],
          ['unlock-car', 'pending', 0],
        ],
      );
      assert.equal(seen[1]?.writer, seen[2]?.writer, 'claim-car done and authorise-deposit started in one transaction');
      assert.notEqual(seen[0]?.writer, seen[1]?.writer);
    });

    for (const failing of ['reserve-trip', 'claim-car', 'authorise-deposit', 'unlock-car']) {
      it(`a failure in ${failing} compensates the steps before it in reverse (and a failed remote call too)`, async () => {
        const database = await freshDatabase();
        const journal = newJournal();
        const saga = tripSaga(journal, { fail: [failing] });
        const outcome = await runner(database, [saga]).run(saga, input);

        const order = ['reserve-trip', 'claim-car', 'authorise-deposit', 'unlock-car'];
        const failedAt = order.indexOf(failing);
        // A failed remote call may still have taken effect downstream: it is compensated too,
        // first. A failed local step rolled back: nothing of it to undo.
        const compensated = order.slice(0, failing === 'reserve-trip' ? 0 : failedAt + 1).reverse();
        assert.equal(outcome.status, 'compensated');
        assert.equal(outcome.error?.step, failing);
        assert.match(outcome.error?.message ?? '', new RegExp(`${failing} refused`));
        assert.deepEqual(journal.entries, [...order.slice(0, failedAt + 1).map((step) => `invoke:${step}`), ...compensated.map((step) => `compensate:${step}`)]);
        for (const step of compensated) assert.deepEqual(journal.keys.get(`compensate:${step}`), [`${outcome.id}:${step}:compensate`]);

        const record = await runner(database, [saga]).get(outcome.id);
        assert.equal(record?.status, 'compensated');
        const failedRow = record?.steps[failedAt];
        assert.equal(failedRow?.invokeStatus, 'failed');
        assert.match(failedRow?.invokeError?.message ?? '', /refused/);
        for (const row of record?.steps ?? []) {
          assert.equal(row.compensateStatus, compensated.includes(row.name) ? 'done' : 'not_needed', row.name);
        }
        const { rows } = await sql<{ state: string }>`select state from trip where id = ${outcome.id}`.execute(database.db);
        assert.deepEqual(rows, failing === 'reserve-trip' ? [] : [{ state: 'cancelled' }], 'the local step’s change committed or rolled back with its log record');
      });
    }

    it('retries a failing compensation with backoff, the same key each time, before moving on to the earlier steps', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const registry = new Registry();
      const saga = tripSaga(journal, { fail: ['unlock-car'], failCompensation: (step, attempt) => step === 'authorise-deposit' && attempt < 3 });
      const delays: number[] = [];
      const outcome = await runner(database, [saga], {
        registry,
        scheduler: {
          setTimeout: (callback, ms) => {
            delays.push(ms);
            return setTimeout(callback, 0);
          },
          clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
        },
        compensationBackoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
        leaseMs: 600_000,
      }).run(saga, input);

      assert.equal(outcome.status, 'compensated');
      assert.deepEqual(journal.entries.filter((entry) => entry.startsWith('compensate:')), [
        'compensate:unlock-car',
        'compensate:authorise-deposit',
        'compensate:authorise-deposit',
        'compensate:authorise-deposit',
        'compensate:claim-car',
        'compensate:reserve-trip',
      ]);
      assert.deepEqual(new Set(journal.keys.get('compensate:authorise-deposit')), new Set([`${outcome.id}:authorise-deposit:compensate`]));
      assert.ok(delays.includes(100) && delays.includes(200), `backoff doubles: ${delays.join(', ')}`);
      const record = await runner(database, [saga]).get(outcome.id);
      assert.equal(record?.steps[2]?.compensateAttempts, 3);
      assert.equal(record?.steps[2]?.compensateStatus, 'done');
      const retries = (await registry.getMetricsAsJSON()).find((metric) => metric.name === 'saga_compensation_retries_total');
      assert.equal(retries?.values[0]?.value, 2);
    });

    it('gives up after the bounded attempts: the saga is failed, listed for an operator, and retry() finishes it', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      let broken = true;
      const saga = tripSaga(journal, { fail: ['unlock-car'], failCompensation: (step) => broken && step === 'claim-car', maxCompensationAttempts: 3 });
      const events: SagaEvent[] = [];
      const sagas = runner(database, [saga], { observer: (event) => void events.push(event) });
      const outcome = await sagas.run(saga, input);

      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.reason, 'COMPENSATION_FAILED');
      assert.equal(outcome.error?.step, 'claim-car');
      assert.equal(journal.entries.filter((entry) => entry === 'compensate:claim-car').length, 3);
      assert.ok(!journal.entries.includes('compensate:reserve-trip'), 'earlier steps wait: compensations stay in reverse order');
      assert.deepEqual(
        (await sagas.list({ status: 'failed' })).map((saga) => saga.id),
        [outcome.id],
      );
      assert.deepEqual(await sagas.recover(), { resumed: 0, completed: 0, compensated: 0, failed: 0, interrupted: 0, errors: [] }, 'a failed saga waits for an operator');
      assert.ok(events.some((event) => event.type === 'finished' && event.status === 'failed'));

      broken = false;
      const retried = await sagas.retry(outcome.id);
      assert.equal(retried.status, 'compensated');
      assert.deepEqual(journal.entries.slice(-2), ['compensate:claim-car', 'compensate:reserve-trip']);
      await assert.rejects(sagas.retry(outcome.id), (error) => isAppError(error) && error.reason === 'SAGA_NOT_FAILED');
    });

    it('invokes no step past the deadline and compensates what ran', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const saga = tripSaga(journal, { timeoutMs: 10_000, onInvoke: (step) => step === 'claim-car' && clock.advance(10_001) });
      const outcome = await runner(database, [saga], { clock }).run(saga, input);

      assert.equal(outcome.status, 'compensated');
      assert.equal(outcome.error?.reason, 'SAGA_DEADLINE_EXCEEDED');
      assert.equal(outcome.error?.step, 'authorise-deposit');
      assert.deepEqual(journal.entries, ['invoke:reserve-trip', 'invoke:claim-car', 'compensate:claim-car', 'compensate:reserve-trip']);
      const record = await runner(database, [saga]).get(outcome.id);
      assert.equal(record?.deadline.getTime(), Date.parse('2026-01-01T00:00:10.000Z'));
    });

    it('aborts the signal of a step still running at the deadline, then compensates it', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      let remainingAtStart = -1;
      const saga = tripSaga(journal, {
        timeoutMs: 300,
        hold: {
          'authorise-deposit': (signal) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
            }),
        },
      });
      const observed = defineSaga<TripInput>(
        saga.name,
        saga.steps.map((step) =>
          step.name === 'authorise-deposit' && step.local !== true
            ? {
                ...step,
                invoke: async (ctx) => {
                  remainingAtStart = ctx.remainingMs();
                  return await step.invoke(ctx);
                },
              }
            : step,
        ),
        saga.options,
      );
      const started = performance.now();
      const outcome = await runner(database, [observed]).run(observed, input);
      assert.ok(remainingAtStart > 0 && remainingAtStart <= 300, `remaining ${remainingAtStart} ms`);
      assert.ok(performance.now() - started < 5000);
      assert.equal(outcome.status, 'compensated');
      assert.equal(outcome.error?.reason, 'SAGA_DEADLINE_EXCEEDED');
      assert.equal(outcome.error?.step, 'authorise-deposit');
      assert.deepEqual(journal.entries.slice(-3), ['compensate:authorise-deposit', 'compensate:claim-car', 'compensate:reserve-trip']);
    });

    it('recover() invokes a step that was started but not recorded done again, with the same key, and completes', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const stuck = gate();
      let first = true;
      const saga = tripSaga(journal, {
        hold: {
          'authorise-deposit': async (signal) => {
            if (first) {
              first = false;
              await stuck.wait(signal);
            }
          },
        },
      });
      // The first instance stalls inside a remote call (a GC pause, a hung socket) past its lease.
      const frozen = runner(database, [saga], { clock, instanceId: 'node-a', leaseMs: 10_000 });
      const running = frozen.run(saga, input);
      await stuck.reached;
      clock.advance(10_001);

      const successor = runner(database, [saga], { clock, instanceId: 'node-b', leaseMs: 10_000 });
      const report = await successor.recover();
      assert.deepEqual(report, { resumed: 1, completed: 1, compensated: 0, failed: 0, interrupted: 0, errors: [] });
      const [sagaId] = (journal.keys.get('invoke:reserve-trip') ?? [''])[0]!.split(':');
      assert.deepEqual(journal.keys.get('invoke:authorise-deposit'), [`${sagaId}:authorise-deposit`, `${sagaId}:authorise-deposit`]);
      assert.equal(journal.entries.filter((entry) => entry === 'invoke:claim-car').length, 1, 'steps recorded done are not invoked again');
      const record = await successor.get(sagaId!);
      assert.equal(record?.status, 'completed');
      assert.equal(record?.steps[2]?.invokeAttempts, 2);

      // The stalled instance wakes up: its late answer is not recorded over its successor's.
      stuck.open();
      await assert.rejects(running, (error) => isAppError(error) && error.reason === 'SAGA_INTERRUPTED');
      assert.equal((await successor.get(sagaId!))?.status, 'completed');
      assert.equal(journal.entries.filter((entry) => entry === 'invoke:unlock-car').length, 1, 'the stalled instance drove no further step');
      await frozen.stop();
    });

    it('an instance that lost its saga after the last step does not record the end over its successor', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const stuck = gate();
      const saga = tripSaga(journal);
      // Stalls between the last step's record and the saga's end (the observer is awaited there).
      const frozen = runner(database, [saga], {
        clock,
        instanceId: 'node-a',
        leaseMs: 10_000,
        observer: async (event) => {
          if (event.type === 'invoked' && event.step === 'unlock-car') await stuck.wait(new AbortController().signal);
        },
      });
      const running = frozen.run(saga, input);
      await stuck.reached;
      clock.advance(10_001);
      const successor = runner(database, [saga], { clock, instanceId: 'node-b', leaseMs: 10_000 });
      assert.deepEqual(await successor.recover(), { resumed: 1, completed: 1, compensated: 0, failed: 0, interrupted: 0, errors: [] });
      const [sagaId] = (journal.keys.get('invoke:reserve-trip') ?? [''])[0]!.split(':');
      const ended = await successor.get(sagaId!);

      stuck.open();
      await assert.rejects(running, (error) => isAppError(error) && error.reason === 'SAGA_INTERRUPTED');
      assert.deepEqual((await successor.get(sagaId!))?.updatedAt, ended?.updatedAt, 'the end is the successor’s, written once');
      await frozen.stop();
    });

    it('recover() goes on compensating a saga that was compensating, from the compensation in doubt', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const stuck = gate();
      let first = true;
      const saga = tripSaga(journal, {
        fail: ['unlock-car'],
        holdCompensation: {
          'claim-car': async (signal) => {
            if (first) {
              first = false;
              await stuck.wait(signal);
            }
          },
        },
      });
      const frozen = runner(database, [saga], { clock, instanceId: 'node-a', leaseMs: 10_000 });
      const running = frozen.run(saga, input);
      await stuck.reached;
      clock.advance(10_001);
      const report = await runner(database, [saga], { clock, instanceId: 'node-b' }).recover();
      assert.equal(report.compensated, 1);
      assert.deepEqual(journal.entries.filter((entry) => entry.startsWith('compensate:')), [
        'compensate:unlock-car',
        'compensate:authorise-deposit',
        'compensate:claim-car',
        'compensate:claim-car',
        'compensate:reserve-trip',
      ]);
      assert.equal(journal.entries.filter((entry) => entry.startsWith('invoke:')).length, 4, 'nothing is invoked again while compensating');
      await frozen.stop();
      await assert.rejects(running, (error) => isAppError(error) && error.reason === 'SAGA_INTERRUPTED');
    });

    it('recover() compensates a saga found past its deadline instead of invoking its step again', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const stuck = gate();
      let first = true;
      const saga = tripSaga(journal, {
        timeoutMs: 60_000,
        hold: {
          'claim-car': async (signal) => {
            if (first) {
              first = false;
              await stuck.wait(signal);
            }
          },
        },
      });
      const frozen = runner(database, [saga], { clock, instanceId: 'node-a', leaseMs: 10_000 });
      const running = frozen.run(saga, input);
      await stuck.reached;
      clock.advance(60_001);
      const report = await runner(database, [saga], { clock, instanceId: 'node-b' }).recover();
      assert.equal(report.compensated, 1);
      assert.deepEqual(journal.entries, ['invoke:reserve-trip', 'invoke:claim-car', 'compensate:claim-car', 'compensate:reserve-trip']);
      await frozen.stop();
      await assert.rejects(running);
    });

    it('a stopped runner releases its sagas: another instance takes them at once, without waiting for the lease', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const stuck = gate();
      let first = true;
      const saga = tripSaga(journal, {
        hold: {
          'claim-car': async (signal) => {
            if (first) {
              first = false;
              await stuck.wait(signal);
            }
          },
        },
      });
      const leaving = runner(database, [saga], { instanceId: 'node-a', leaseMs: 600_000 });
      const running = leaving.run(saga, input);
      await stuck.reached;
      await leaving.stop();
      await assert.rejects(running, (error) => isAppError(error) && error.reason === 'SAGA_INTERRUPTED');
      await assert.rejects(leaving.run(saga, input), (error) => isAppError(error) && error.reason === 'SAGA_RUNNER_STOPPED');
      const report = await runner(database, [saga], { instanceId: 'node-b', leaseMs: 600_000 }).recover();
      assert.equal(report.completed, 1);
      assert.equal(journal.entries.filter((entry) => entry === 'invoke:claim-car').length, 2);
    });

    it('two runners recovering together drive each saga once, and a runner never claims a saga it is driving itself', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const gates = new Map<string, ReturnType<typeof gate>>();
      let holding = true;
      const invokedBy = new Map<string, string[]>();
      const saga = tripSaga(journal, {
        hold: {
          'claim-car': async (signal) => {
            if (!holding) return;
            const held = gate();
            gates.set(String(gates.size), held);
            await held.wait(signal);
          },
        },
      });
      const total = 12;
      const frozen = runner(database, [saga], { clock, instanceId: 'node-a', leaseMs: 10_000 });
      const abandoned = Array.from({ length: total }, () => frozen.run(saga, input).catch(() => undefined));
      while (gates.size < total) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(await frozen.recover(), { resumed: 0, completed: 0, compensated: 0, failed: 0, interrupted: 0, errors: [] });
      holding = false;
      clock.advance(10_001);

      const instrumented = (instanceId: string): SagaRunner =>
        runner(database, [saga], {
          clock,
          instanceId,
          leaseMs: 10_000,
          recoveryConcurrency: 3,
          observer: (event) => {
            if (event.type === 'invoking' && event.step === 'claim-car') invokedBy.set(event.sagaId, [...(invokedBy.get(event.sagaId) ?? []), instanceId]);
          },
        });
      const [b, c] = await Promise.all([instrumented('node-b').recover(), instrumented('node-c').recover()]);
      assert.equal(b.resumed + c.resumed, total, `node-b ${b.resumed}, node-c ${c.resumed}`);
      assert.equal(b.completed + c.completed, total);
      assert.equal(invokedBy.size, total);
      for (const [sagaId, drivers] of invokedBy) assert.equal(drivers.length, 1, `saga ${sagaId} was driven by ${drivers.join(' and ')}`);
      assert.equal(journal.entries.filter((entry) => entry === 'invoke:unlock-car').length, total, 'each saga unlocked its car once');
      await frozen.stop();
      await Promise.all(abandoned);
    });

    it('start() keeps recovering: a saga whose instance went quiet is taken over once its lease runs out', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const stuck = gate();
      let first = true;
      const saga = tripSaga(journal, {
        hold: {
          'unlock-car': async (signal) => {
            if (first) {
              first = false;
              await stuck.wait(signal);
            }
          },
        },
      });
      const frozen = runner(database, [saga], { clock, instanceId: 'node-a', leaseMs: 10_000 });
      const running = frozen.run(saga, input).catch(() => undefined);
      await stuck.reached;
      const watcher = runner(database, [saga], { clock, instanceId: 'node-b', leaseMs: 10_000 });
      watcher.start({ intervalMs: 10 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [sagaId] = (journal.keys.get('invoke:reserve-trip') ?? [''])[0]!.split(':');
      assert.equal((await watcher.get(sagaId!))?.owner, 'node-a', 'a live lease is left alone');
      clock.advance(10_001);
      for (let waited = 0; (await watcher.get(sagaId!))?.status !== 'completed'; waited += 10) {
        assert.ok(waited < 10_000, 'the watcher took the saga over');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(journal.entries.filter((entry) => entry === 'invoke:unlock-car').length, 2);
      await watcher.stop();
      await frozen.stop();
      await running;
    });

    it('run() with an id that exists returns the recorded outcome instead of starting again', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const saga = tripSaga(journal);
      const sagas = runner(database, [saga]);
      const id = '01900000-0000-7000-8000-000000000001';
      const first = await sagas.run(saga, input, { id });
      const again = await sagas.run(saga, input, { id });
      assert.equal(first.status, 'completed');
      assert.deepEqual(again, first);
      assert.equal(journal.entries.length, 4);
      const other = defineSaga('trip.other', saga.steps);
      await assert.rejects(runner(database, [saga, other]).run(other, input, { id }), (error) => isAppError(error) && error.reason === 'SAGA_ID_TAKEN');
      await assert.rejects(sagas.run(saga, input, { id: 'trip-42' }), (error) => isAppError(error) && error.reason === 'INVALID_SAGA_ID');
    });

    /**
     * Planned local steps around a remote one: `open-trip` inserts the trip, `begin-trip` moves it
     * from reserved to started, guarded, and is undone by its planned compensation.
     */
    function plannedSaga(journal: Journal, options: { failAt?: string; holdPlan?: (signal: AbortSignal) => Promise<void>; beginFrom?: string; staleUntilPlan?: number } = {}) {
      let beginPlans = 0;
      return defineSaga<TripInput>('trip.planned', [
        {
          name: 'open-trip',
          local: true,
          async plan(ctx) {
            note(journal, 'plan:open-trip', ctx.idempotencyKey);
            await options.holdPlan?.(ctx.signal);
            return { writes: [{ query: sql`insert into trip (id, rider_id, state) values (${ctx.sagaId}, ${ctx.input.riderId}, 'reserved')`.compile(ctx.db) }], result: { tripId: ctx.sagaId } };
          },
          async planCompensation(ctx) {
            note(journal, 'compensate:open-trip', ctx.idempotencyKey);
            return { writes: [{ query: sql`update trip set state = 'cancelled' where id = ${ctx.sagaId}`.compile(ctx.db) }], result: undefined };
          },
        },
        {
          name: 'claim-car',
          async invoke(ctx) {
            note(journal, 'invoke:claim-car', ctx.idempotencyKey);
            if (options.failAt === 'claim-car') throw new Error('claim-car refused');
            return { carId: ctx.input.carId };
          },
        },
        {
          name: 'begin-trip',
          local: true,
          async plan(ctx) {
            note(journal, 'plan:begin-trip', ctx.idempotencyKey);
            beginPlans += 1;
            const stale = options.staleUntilPlan !== undefined && beginPlans < options.staleUntilPlan;
            const refused = stale ? stalePlan('read a state that has changed') : new Error('the trip is not reserved');
            let committed = false;
            return {
              writes: [
                { query: sql`update trip set state = 'started' where id = ${ctx.sagaId} and state = ${stale ? 'paused' : (options.beginFrom ?? 'reserved')}`.compile(ctx.db), orElse: () => refused },
                { query: sql`insert into trip (id, rider_id, state) values (gen_random_uuid(), 'after the guard', 'reserved')`.compile(ctx.db) },
              ],
              result: { started: true },
              afterCommit: () => {
                committed = true;
                note(journal, `committed:begin-trip:${committed}`, ctx.idempotencyKey);
              },
            };
          },
        },
        {
          name: 'unlock-car',
          async invoke(ctx) {
            note(journal, 'invoke:unlock-car', ctx.idempotencyKey);
            if (options.failAt === 'unlock-car') throw new Error('unlock-car refused');
          },
        },
      ]);
    }

    it('runs a planned local step’s writes with its record: all of them committed, or none when a guard fails', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const saga = plannedSaga(journal);
      const outcome = await runner(database, [saga]).run(saga, input);
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(outcome.results['begin-trip'], { started: true });
      assert.deepEqual(journal.entries, ['plan:open-trip', 'invoke:claim-car', 'plan:begin-trip', 'committed:begin-trip:true', 'invoke:unlock-car']);
      const { rows } = await sql<{ rider_id: string; state: string }>`select rider_id, state from trip order by rider_id`.execute(database.db);
      assert.deepEqual(rows, [
        { rider_id: 'after the guard', state: 'reserved' },
        { rider_id: 'rider-1', state: 'started' },
      ]);

      // The guard changes nothing: the step fails, nothing of it is written and it is not
      // compensated (its batch rolled back); the planned step before it is undone by its plan.
      const refusedDatabase = await freshDatabase();
      const refusedJournal = newJournal();
      const refusedSaga = plannedSaga(refusedJournal, { beginFrom: 'paused' });
      const refused = await runner(refusedDatabase, [refusedSaga]).run(refusedSaga, input);
      assert.equal(refused.status, 'compensated');
      assert.equal(refused.error?.step, 'begin-trip');
      assert.match(refused.error?.message ?? '', /not reserved/);
      assert.deepEqual(refusedJournal.entries, ['plan:open-trip', 'invoke:claim-car', 'plan:begin-trip', 'compensate:open-trip']);
      const { rows: after } = await sql<{ rider_id: string; state: string }>`select rider_id, state from trip`.execute(refusedDatabase.db);
      assert.deepEqual(after, [{ rider_id: 'rider-1', state: 'cancelled' }]);
      const record = await runner(refusedDatabase, [refusedSaga]).get(refused.id);
      assert.deepEqual(
        record?.steps.map((step) => [step.name, step.invokeStatus, step.compensateStatus]),
        [
          ['open-trip', 'done', 'done'],
          ['claim-car', 'done', 'not_needed'],
          ['begin-trip', 'failed', 'not_needed'],
          ['unlock-car', 'pending', 'not_needed'],
        ],
      );
    });

    it('plans a step again when its guard says the plan read a state that has changed, a bounded number of times', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const saga = plannedSaga(journal, { staleUntilPlan: 3 });
      const outcome = await runner(database, [saga]).run(saga, input);
      assert.equal(outcome.status, 'completed');
      assert.equal(journal.entries.filter((entry) => entry === 'plan:begin-trip').length, 3);
      assert.equal(journal.entries.filter((entry) => entry.startsWith('committed:begin-trip')).length, 1);

      const staleDatabase = await freshDatabase();
      const staleJournal = newJournal();
      const alwaysStale = plannedSaga(staleJournal, { staleUntilPlan: Number.POSITIVE_INFINITY });
      const gaveUp = await runner(staleDatabase, [alwaysStale]).run(alwaysStale, input);
      assert.equal(gaveUp.status, 'compensated');
      assert.equal(gaveUp.error?.reason, 'SAGA_PLAN_STALE');
      assert.equal(staleJournal.entries.filter((entry) => entry === 'plan:begin-trip').length, maxPlans);
      const { rows } = await sql`select * from trip where rider_id = 'after the guard'`.execute(staleDatabase.db);
      assert.deepEqual(rows, [], 'no plan’s writes landed');
    });

    it('records a planned step with the next remote step started, and the last one with the saga’s end, each in its batch', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const planned = (name: string) => ({
        name,
        local: true as const,
        async plan() {
          note(journal, `plan:${name}`, name);
          return { writes: [], result: name };
        },
      });
      let during: Array<{ step_name: string; invoke_status: string; writer: string }> = [];
      const saga = defineSaga<TripInput>('trip.batched', [
        planned('first'),
        {
          name: 'remote',
          async invoke() {
            // xmin is the transaction that wrote the row.
            const { rows } = await sql<(typeof during)[number]>`select step_name, invoke_status, xmin::text as writer from saga_step order by step_index`.execute(database.db);
            during = rows;
          },
        },
        planned('last'),
      ]);
      const outcome = await runner(database, [saga]).run(saga, input);
      assert.equal(outcome.status, 'completed');
      assert.deepEqual(
        during.map((row) => [row.step_name, row.invoke_status]),
        [
          ['first', 'done'],
          ['remote', 'started'],
          ['last', 'pending'],
        ],
      );
      assert.equal(during[0]?.writer, during[1]?.writer, 'first done and remote started in one transaction');
      const { rows: ended } = await sql<{ status: string; writer: string }>`select status, xmin::text as writer from saga`.execute(database.db);
      const { rows: steps } = await sql<{ step_name: string; invoke_status: string; compensate_status: string; writer: string }>`
        select step_name, invoke_status, compensate_status, xmin::text as writer from saga_step order by step_index`.execute(database.db);
      assert.equal(ended[0]?.status, 'completed');
      assert.deepEqual(
        steps.map((row) => [row.step_name, row.invoke_status, row.compensate_status]),
        [
          ['first', 'done', 'not_needed'],
          ['remote', 'done', 'not_needed'],
          ['last', 'done', 'not_needed'],
        ],
      );
      assert.equal(ended[0]?.writer, steps[2]?.writer, 'the last step and the saga’s end in one transaction');
    });

    it('a remote step answered but not yet written with the planned step after it stays started: a successor calls it again with its key', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const stuck = gate();
      let held = true;
      let during: Array<{ step_name: string; invoke_status: string }> = [];
      const saga = defineSaga<TripInput>('trip.folded', [
        {
          name: 'claim-car',
          async invoke(ctx) {
            note(journal, 'invoke:claim-car', ctx.idempotencyKey);
            return { carId: ctx.input.carId };
          },
        },
        {
          name: 'begin-trip',
          local: true,
          async plan(ctx) {
            note(journal, 'plan:begin-trip', ctx.idempotencyKey);
            if (held) {
              held = false;
              ({ rows: during } = await sql<(typeof during)[number]>`select step_name, invoke_status from saga_step order by step_index`.execute(database.db));
              await stuck.wait(ctx.signal);
            }
            return { writes: [{ query: sql`insert into trip (id, rider_id, state) values (${ctx.sagaId}, ${ctx.input.riderId}, 'started')`.compile(ctx.db) }], result: ctx.results['claim-car'] };
          },
        },
      ]);
      const first = runner(database, [saga], { instanceId: 'node-a' });
      const running = first.run(saga, input);
      await stuck.reached;
      assert.deepEqual(
        during.map((row) => [row.step_name, row.invoke_status]),
        [
          ['claim-car', 'started'],
          ['begin-trip', 'pending'],
        ],
      );
      // The instance stops with the plan in hand (a deploy): nothing of the step is written.
      await Promise.all([first.stop(), assert.rejects(running, (error) => isAppError(error) && error.reason === 'SAGA_INTERRUPTED')]);
      const successor = runner(database, [saga], { instanceId: 'node-b' });
      assert.deepEqual(await successor.recover(), { resumed: 1, completed: 1, compensated: 0, failed: 0, interrupted: 0, errors: [] });
      const keys = journal.keys.get('invoke:claim-car') ?? [];
      assert.equal(keys.length, 2, 'called again, as after a crash before its done');
      assert.equal(keys[0], keys[1], 'with the same key');
      const [sagaId] = keys[0]!.split(':');
      const record = await successor.get(sagaId!);
      assert.deepEqual(
        record?.steps.map((step) => [step.name, step.invokeStatus, step.invokeAttempts]),
        [
          ['claim-car', 'done', 2],
          ['begin-trip', 'done', 1],
        ],
      );
      assert.deepEqual(record?.steps[1]?.result, { carId: input.carId });
    });

    it('a planned step of an instance that lost its saga writes nothing', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const stuck = gate();
      const saga = plannedSaga(journal, { holdPlan: () => stuck.wait(new AbortController().signal) });
      const frozen = runner(database, [saga], { clock, instanceId: 'node-a', leaseMs: 10_000 });
      const running = frozen.run(saga, input);
      await stuck.reached;
      // Another instance holds it now (its lease ran out and was taken): the batch's record is
      // refused, and the writes decided with it go with it.
      const { rows: held } = await sql<{ id: string }>`update saga set owner = 'node-b' returning id`.execute(database.db);
      assert.equal(held.length, 1);
      stuck.open();
      await assert.rejects(running, (error) => isAppError(error) && error.reason === 'SAGA_INTERRUPTED');
      const { rows } = await sql`select * from trip`.execute(database.db);
      assert.deepEqual(rows, []);
      const record = await frozen.get(held[0]!.id);
      assert.equal(record?.steps[0]?.invokeStatus, 'pending');
      await frozen.stop();
    });

    it('a saga recorded with other steps than the code has is failed for an operator, not driven', async () => {
      const database = await freshDatabase();
      const journal = newJournal();
      const clock = new FakeClock();
      const stuck = gate();
      const saga = tripSaga(journal, { hold: { 'claim-car': (signal) => stuck.wait(signal) } });
      const frozen = runner(database, [saga], { clock, instanceId: 'node-a', leaseMs: 10_000 });
      const running = frozen.run(saga, input).catch(() => undefined);
      await stuck.reached;
      clock.advance(10_001);
      const renamed = defineSaga<TripInput>(saga.name, saga.steps.filter((step) => step.name !== 'authorise-deposit'));
      const report = await runner(database, [renamed], { clock, instanceId: 'node-b' }).recover();
      assert.equal(report.failed, 1);
      const [failed] = await runner(database, [renamed]).list({ status: 'failed' });
      assert.equal(failed?.error?.reason, 'SAGA_DEFINITION_CHANGED');
      await frozen.stop();
      await running;
    });
  });
}

describe('defineSaga', () => {
  it('refuses duplicate or malformed step names and empty sagas', () => {
    const step = { name: 'a', invoke: async () => 1 };
    assert.throws(() => defineSaga('x', []), /no steps/);
    assert.throws(() => defineSaga('x', [step, step]), /two steps named a/);
    assert.throws(() => defineSaga('x', [{ ...step, name: 'Has Space' }]), /not lower-case/);
    assert.throws(() => defineSaga('X', [step]), /not lower-case/);
    const plan = async () => ({ writes: [], result: undefined });
    assert.throws(() => defineSaga('x', [{ name: 'a', local: true, plan, invoke: async () => 1 } as never]), /either invoke or, local, plan/);
    assert.throws(() => defineSaga('x', [{ name: 'a', plan } as never]), /either invoke or, local, plan/);
    assert.doesNotThrow(() => defineSaga('x', [{ name: 'a', local: true, plan }]));
  });
});
