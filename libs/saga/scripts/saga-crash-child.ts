/**
 * The process the saga crash test kills. It recovers what its predecessor left, then starts one
 * trip saga per point in `holdAt` and holds each at its point (a saga announces `{ holding }` and
 * waits there forever); once all are holding it says `{ allHolding }` and the parent's SIGKILL
 * lands with every one of them exactly at its point. Without points it finishes the recovered
 * sagas, runs one saga of each kind end to end and exits. Progress goes to stdout as JSON lines.
 *
 *   node --import tsx saga-crash-child.ts '<json SagaCrashChildOptions>'
 *
 * The saga: reserve-trip (local: its row commits with the log record), then claim-car,
 * authorise-deposit and unlock-car, remote calls into a "downstream" schema that absorbs a
 * repeated idempotency key, as a real service would. A saga's input may name a step the
 * downstream refuses, so that it compensates.
 *
 * Effects land in `applied (saga_id, step, kind)` with a count of applications; the test asserts
 * every count is 1. Every downstream call, repeated or not, lands in `attempt`.
 */
import { createInterface } from 'node:readline';
import { uuidV7Ids } from '@carshare/platform';
import { openSqlEngine, type ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely } from 'kysely';
import { defineSaga, type SagaStep } from '../src/define-saga.ts';
import { SagaRunner } from '../src/saga-runner.ts';
import { migrateSagaTables } from '../src/saga-tables.ts';
import { isInsideTransaction, refusalFor } from './crash-points.ts';

export interface SagaCrashChildOptions {
  dataDir: string;
  databaseUrl?: string;
  serviceSchema: string;
  downstreamSchema: string;
  /** Points to hold new sagas at, e.g. `applied:claim-car` or `compensated:authorise-deposit`. */
  holdAt: readonly string[];
  /**
   * Load the code, then wait for a line on stdin before opening the database: the parent starts
   * the next life while the current one runs, so loading (seconds on a busy machine) overlaps.
   */
  waitForGo?: boolean;
}

export interface TripCrashInput {
  idx: number;
  refuse?: 'authorise-deposit' | 'unlock-car';
}

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...line, ms: Math.round(performance.now()) })}\n`);
}

const options = JSON.parse(process.argv[2] ?? '{}') as SagaCrashChildOptions;
/** Saga id → the point it holds at, for sagas started in this life only. */
const holds = new Map<string, string>();
const reached = new Map<string, () => void>();

async function point(name: string, sagaId: string): Promise<void> {
  if (holds.get(sagaId) !== name) return;
  holds.delete(sagaId);
  say({ holding: name, sagaId });
  reached.get(sagaId)?.();
  await new Promise<never>(() => undefined);
}

async function apply(db: Kysely<any>, sagaId: string, step: string, kind: 'invoke' | 'compensate'): Promise<void> {
  await sql`
    insert into applied (saga_id, step, kind, applications, applied_at) values (${sagaId}::uuid, ${step}, ${kind}, 1, clock_timestamp())
    on conflict (saga_id, step, kind) do update set applications = applied.applications + 1`.execute(db);
}

if (options.waitForGo === true) {
  say({ ready: true });
  const lines = createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once('line', resolve));
  lines.close();
}

const engine = await openSqlEngine({ databaseUrl: options.databaseUrl, dataDir: options.dataDir });
const service = engine.forService(options.serviceSchema);
const downstream = engine.forService(options.downstreamSchema);
await migrateSagaTables(service);
for (const database of [service, downstream]) {
  await sql`create schema if not exists ${sql.id(database.schema)}`.execute(database.db);
  await sql`
    create table if not exists applied (
      saga_id uuid not null, step text not null, kind text not null, applications integer not null,
      applied_at timestamptz not null, primary key (saga_id, step, kind))`.execute(database.db);
}
await sql`create table if not exists seen_key (key text primary key)`.execute(downstream.db);
await sql`create table if not exists attempt (seq integer generated always as identity primary key, key text not null)`.execute(downstream.db);

/**
 * The other service: it remembers each idempotency key it has acted on and acts once per key,
 * in one transaction; every call counts as an attempt first.
 */
async function downstreamCall(database: ServiceDatabase, key: string, sagaId: string, step: string, kind: 'invoke' | 'compensate'): Promise<void> {
  await sql`insert into attempt (key) values (${key})`.execute(database.db);
  await database.transaction(async (trx) => {
    const { rows } = await sql`insert into seen_key (key) values (${key}) on conflict do nothing returning key`.execute(trx);
    if (rows.length > 0) await apply(trx, sagaId, step, kind);
  });
}

function remote(step: 'claim-car' | 'authorise-deposit' | 'unlock-car'): SagaStep<TripCrashInput> {
  return {
    name: step,
    async invoke(ctx) {
      await point(`invoke:${step}`, ctx.sagaId);
      if (ctx.input.refuse === step) {
        await sql`insert into attempt (key) values (${ctx.idempotencyKey})`.execute(downstream.db);
        throw new Error(`${step} refused for saga ${ctx.input.idx}`);
      }
      await downstreamCall(downstream, ctx.idempotencyKey, ctx.sagaId, step, 'invoke');
      await point(`applied:${step}`, ctx.sagaId);
      return { step };
    },
    async compensate(ctx) {
      await point(`compensate:${step}`, ctx.sagaId);
      await downstreamCall(downstream, ctx.idempotencyKey, ctx.sagaId, step, 'compensate');
      await point(`compensation-applied:${step}`, ctx.sagaId);
    },
  };
}

const saga = defineSaga<TripCrashInput>('trip.crash', [
  {
    name: 'reserve-trip',
    local: true,
    async invoke(ctx) {
      await point('invoke:reserve-trip', ctx.sagaId);
      // No idempotency check here on purpose: the transaction alone must make it happen once.
      await apply(ctx.trx, ctx.sagaId, 'reserve-trip', 'invoke');
      await point('applied:reserve-trip', ctx.sagaId);
      return { tripId: ctx.sagaId };
    },
    async compensate(ctx) {
      await point('compensate:reserve-trip', ctx.sagaId);
      await apply(ctx.trx, ctx.sagaId, 'reserve-trip', 'compensate');
      await point('compensation-applied:reserve-trip', ctx.sagaId);
    },
  },
  remote('claim-car'),
  remote('authorise-deposit'),
  remote('unlock-car'),
]);

const runner = new SagaRunner({
  database: service,
  sagas: [saga],
  // Stable across lives, as a StatefulSet pod name would be: the successor takes its sagas back at once.
  instanceId: 'crash-child',
  leaseMs: 60_000,
  compensationBackoff: { initialMs: 1, maxMs: 10 },
  async observer(event) {
    if (event.type === 'invoked') await point(`invoked:${event.step}`, event.sagaId);
    if (event.type === 'compensated') await point(`compensated:${event.step}`, event.sagaId);
  },
});

const report = await runner.recover();
say({ recovered: report });
if (report.errors.length > 0) throw new Error(`recovery failed: ${JSON.stringify(report.errors)}`);

const { rows } = await sql<{ count: number }>`select count(*)::int as count from saga`.execute(service.db);
let idx = Number(rows[0]?.count ?? 0);

/** Starts a saga that holds at `at`; resolves once it is there. */
function startHeld(at: string): Promise<void> {
  const id = uuidV7Ids.next();
  holds.set(id, at);
  const there = new Promise<void>((resolve) => reached.set(id, resolve));
  const refuse = refusalFor(at);
  const run = runner.run(saga, { idx: idx++, ...(refuse ? { refuse } : {}) }, { id });
  // A saga that ends instead of holding means the point is unreachable: fail loudly.
  return Promise.race([there, run.then((outcome) => Promise.reject(new Error(`saga for ${at} ended ${outcome.status} without reaching it`)))]);
}

if (options.holdAt.length > 0) {
  // Sagas held inside the local transaction come last: on PGlite they hold the only session.
  await Promise.all(options.holdAt.filter((at) => !isInsideTransaction(at)).map(startHeld));
  for (const at of options.holdAt.filter(isInsideTransaction)) await startHeld(at);
  say({ allHolding: options.holdAt });
  await new Promise<never>(() => undefined);
}

for (const refuse of [undefined, 'authorise-deposit', 'unlock-car'] as const) {
  const outcome = await runner.run(saga, { idx: idx++, ...(refuse ? { refuse } : {}) });
  say({ finished: outcome.id, status: outcome.status });
}
say({ done: true });
await runner.stop();
await engine.close();
