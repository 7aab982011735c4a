import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { openSqlEngine } from '@carshare/storage';
import { sql } from 'kysely';
import { crashLives, crashPoints, crashStepNames } from '../scripts/crash-points.ts';
import type { SagaCrashChildOptions } from '../scripts/saga-crash-child.ts';
import { temporaryDirectory } from './test-database.ts';

const childScript = join(import.meta.dirname, '..', 'scripts', 'saga-crash-child.ts');
// SAGA_CRASH_SEQUENTIAL=1: one life per point (24 kills, minutes on a busy machine) instead of
// several sagas held at once per life.
const lives = crashLives(process.env.SAGA_CRASH_SEQUENTIAL === '1');

interface Child {
  /** Lets a child started with `waitForGo` open the database and run. */
  go(): void;
  process: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string[];
}

function startChild(options: SagaCrashChildOptions): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      stderr.push(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { go: () => child.stdin.write('go\n'), process: child, lines, exited, stderr };
}

/** Resolves with the points the child holds at once all its sagas are there, or undefined when it ended first. */
async function allHoldingOrExit(child: Child, timeoutMs: number): Promise<string[] | undefined> {
  const started = performance.now();
  for (;;) {
    if (child.lines.some((entry) => Array.isArray(entry.allHolding))) {
      return child.lines.filter((entry) => typeof entry.holding === 'string').map((entry) => entry.holding as string);
    }
    if (child.process.exitCode !== null || child.process.signalCode !== null) return undefined;
    if (performance.now() - started > timeoutMs) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function dropSchemas(databaseUrl: string, schemas: string[]): Promise<void> {
  const cleaner = await openSqlEngine({ databaseUrl, dataDir: 'memory://' });
  try {
    const db = cleaner.forService(schemas[0]!).db;
    for (const schema of schemas) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  } finally {
    await cleaner.close();
  }
}

interface AppliedRow {
  saga_id: string;
  step: string;
  kind: 'invoke' | 'compensate';
  applications: number;
  /** clock_timestamp() in microseconds: two effects often land in the same millisecond, a Date's resolution. */
  applied_us: string;
}

const engines: Array<{ kind: string; databaseUrl?: string }> = [{ kind: 'PGlite' }];
if (process.env.DATABASE_URL) engines.push({ kind: 'PostgreSQL', databaseUrl: process.env.DATABASE_URL });

describe('saga crash safety', () => {
  for (const engine of engines) {
    it(`SIGKILLed with sagas held at each of ${crashPoints.length} points, every saga ends completed or fully compensated, each effect applied once (${engine.kind})`, async (t) => {
      const dir = await temporaryDirectory('saga-crash-');
      const suffix = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
      const base: Omit<SagaCrashChildOptions, 'holdAt'> = {
        dataDir: join(dir.path, 'pgdata'),
        databaseUrl: engine.databaseUrl,
        serviceSchema: `saga_crash_trip_${suffix}`,
        downstreamSchema: `saga_crash_downstream_${suffix}`,
      };
      const children: Child[] = [];
      const start = (options: SagaCrashChildOptions): Child => {
        const child = startChild(options);
        children.push(child);
        return child;
      };
      try {
        // The next life loads its code while the current one runs; it opens the data dir only
        // once told to, after the current one is dead.
        let next = start({ ...base, holdAt: lives[0]!, waitForGo: true });
        for (const [index, points] of lives.entries()) {
          const child = next;
          child.go();
          next = start({ ...base, holdAt: lives[index + 1] ?? [], waitForGo: true });
          const holding = await allHoldingOrExit(child, 60_000);
          assert.deepEqual(holding?.sort(), [...points].sort(), `the child should hold a saga at each of its points: ${child.stderr.join('')}`);
          child.process.kill('SIGKILL');
          assert.equal((await child.exited).signal, 'SIGKILL');
        }
        const last = next;
        last.go();
        const end = await last.exited;
        assert.equal(end.code, 0, `the last child failed: ${last.stderr.join('')}`);
        assert.ok(last.lines.some((line) => line.done === true));

        const verifier = await openSqlEngine({ databaseUrl: engine.databaseUrl, dataDir: base.dataDir });
        try {
          const service = verifier.forService(base.serviceSchema).db;
          const downstream = verifier.forService(base.downstreamSchema).db;
          const { rows: sagas } = await sql<{ id: string; idx: number; refuse: string | null; status: string }>`
            select id, (input->>'idx')::int as idx, input->>'refuse' as refuse, status from saga order by id`.execute(service);
          const { rows: localApplied } = await sql<AppliedRow>`select saga_id, step, kind, applications, (extract(epoch from applied_at) * 1000000)::bigint::text as applied_us from applied`.execute(service);
          const { rows: remoteApplied } = await sql<AppliedRow>`select saga_id, step, kind, applications, (extract(epoch from applied_at) * 1000000)::bigint::text as applied_us from applied`.execute(downstream);
          const { rows: attempts } = await sql<{ key: string; count: number }>`select key, count(*)::int as count from attempt group by key`.execute(downstream);
          const { rows: steps } = await sql<{ invoke_attempts: number }>`select invoke_attempts from saga_step`.execute(service);
          const applied = [...localApplied, ...remoteApplied];

          assert.equal(sagas.length, crashPoints.length + 3, 'one saga per point, and one of each kind in the last life');
          assert.deepEqual(
            applied.filter((row) => row.applications !== 1),
            [],
            'no step or compensation took effect twice',
          );
          for (const saga of sagas) {
            const effects = applied.filter((row) => row.saga_id === saga.id);
            const invoked = crashStepNames.filter((step) => effects.some((row) => row.step === step && row.kind === 'invoke'));
            const compensations = effects
              .filter((row) => row.kind === 'compensate')
              .sort((a, b) => (BigInt(a.applied_us) < BigInt(b.applied_us) ? -1 : BigInt(a.applied_us) > BigInt(b.applied_us) ? 1 : 0))
              .map((row) => row.step);
            const failsAt = saga.refuse === null ? undefined : crashStepNames.indexOf(saga.refuse as (typeof crashStepNames)[number]);
            if (failsAt === undefined) {
              assert.equal(saga.status, 'completed', `saga ${saga.idx}`);
              assert.deepEqual(invoked, [...crashStepNames], `saga ${saga.idx}: every step took effect`);
              assert.deepEqual(compensations, [], `saga ${saga.idx}: nothing undone`);
            } else {
              assert.equal(saga.status, 'compensated', `saga ${saga.idx}`);
              assert.deepEqual(invoked, crashStepNames.slice(0, failsAt), `saga ${saga.idx}: the steps before the refusal took effect`);
              // The refused call is in doubt for the saga, so it is compensated too (a no-op downstream).
              assert.deepEqual(compensations, crashStepNames.slice(0, failsAt + 1).reverse(), `saga ${saga.idx}: undone once each, in reverse`);
            }
          }
          const repeatedCalls = attempts.filter((row) => row.count > 1).length;
          const reinvokedSteps = steps.filter((row) => row.invoke_attempts > 1).length;
          assert.ok(repeatedCalls >= 4, `calls cut off by a kill were made again with the same key (${repeatedCalls})`);
          assert.ok(reinvokedSteps >= 2, `steps recorded started were invoked again (${reinvokedSteps})`);
          const counts = { completed: 0, compensated: 0 } as Record<string, number>;
          for (const saga of sagas) counts[saga.status] = (counts[saga.status] ?? 0) + 1;
          t.diagnostic(
            `${lives.length} kills at ${crashPoints.length} points; ${counts.completed} completed, ${counts.compensated} compensated; ` +
              `${repeatedCalls} downstream keys called more than once, each applied once`,
          );
        } finally {
          await verifier.close();
        }
      } finally {
        for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
        if (engine.databaseUrl) await dropSchemas(engine.databaseUrl, [base.serviceSchema, base.downstreamSchema]);
        await dir.remove();
      }
    });
  }
});
