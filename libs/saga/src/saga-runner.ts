import { randomUUID } from 'node:crypto';
import {
  Aborted,
  Conflict,
  DeadlineExceeded,
  InvalidArgument,
  NotFound,
  Unavailable,
  isAppError,
  isUuid,
  systemClock,
  uuidV7Ids,
  type Clock,
  type IdGenerator,
  backoffDelay,
  backoffPolicy,
  silentLogger,
  systemScheduler,
  type BackoffPolicy,
  type Scheduler,
  type StructuredLogger,
} from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import type { Transaction } from 'kysely';
import type { Registry } from 'prom-client';
import { canCompensate, isPlannedStep, isStalePlan, maxPlans, type LocalWrites, type SagaDefinition, type SagaStep, type SagaStepContext } from './define-saga.ts';
import { leaseLostReason, SagaLog, stepChanges, type SagaErrorRecord, type SagaRecord, type SagaStatus, type SagaSummary, type StepChange } from './saga-log.ts';
import { sagaMetrics, type SagaMetrics, type SagaOutcomeStatus } from './saga-metrics.ts';

export interface SagaOutcome {
  id: string;
  name: string;
  status: SagaOutcomeStatus;
  /** Results of the steps that were recorded done, by step name. */
  results: Record<string, unknown>;
  /** Why it compensated (the failed step, or the deadline) or failed (the compensation that gave up). */
  error: SagaErrorRecord | null;
}

export type SagaStepEventType = 'invoking' | 'invoked' | 'invoke-failed' | 'compensating' | 'compensated' | 'compensate-failed';

export type SagaEvent =
  | { type: SagaStepEventType; sagaId: string; saga: string; step: string; attempt: number; error?: SagaErrorRecord }
  | { type: 'finished'; sagaId: string; saga: string; status: SagaOutcomeStatus; error: SagaErrorRecord | null };

/**
 * Told about every transition, and awaited: `invoking` comes after the step was recorded started
 * and before it is called, the others after the log write that they name. Logs and tests listen
 * here; the crash test holds a saga at an exact point by not returning.
 */
export type SagaObserver = (event: SagaEvent) => void | Promise<void>;

export interface SagaRunnerOptions {
  database: ServiceDatabase;
  /** Every saga this runner may start or recover. */
  sagas: ReadonlyArray<SagaDefinition<any>>;
  clock?: Clock;
  ids?: IdGenerator;
  scheduler?: Scheduler;
  random?: () => number;
  /**
   * Who holds a saga's lease. Default: a random id per runner, so a restarted process waits for
   * its predecessor's leases to run out. A stable id that no two live processes share (a
   * StatefulSet pod name) lets a restarted instance take back its own sagas at once.
   */
  instanceId?: string;
  /** How long a saga stays with its instance without a sign of life; renewed every third of it. Default 15 s. */
  leaseMs?: number;
  /** Start-to-deadline when neither the saga nor `run` says. Default 60 s. */
  defaultTimeoutMs?: number;
  /** Attempts per compensation before the saga is `failed`. Default 8. */
  maxCompensationAttempts?: number;
  /** Waits between compensation attempts. Default 200 ms doubling to 30 s, 20 % jitter. */
  compensationBackoff?: Partial<BackoffPolicy>;
  /** Sagas `recover` drives at once. Default 4. */
  recoveryConcurrency?: number;
  registry?: Registry;
  logger?: StructuredLogger;
  observer?: SagaObserver;
}

export interface SagaRunOptions {
  /** A UUID the caller chose (say, the request's), so a retried request joins the saga instead of starting another. */
  id?: string;
  timeoutMs?: number;
  /** Epoch ms; wins over timeoutMs. */
  deadline?: number;
}

export interface SagaRecoveryReport {
  /** Sagas this call took over and drove. */
  resumed: number;
  completed: number;
  compensated: number;
  failed: number;
  /** Stopped before their end (shutdown, or another instance took them over). */
  interrupted: number;
  /** Sagas whose drive ended in an unexpected error (e.g. the database went away); a later pass retries them. */
  errors: Array<{ sagaId: string; message: string }>;
}

const interruptedReason = 'SAGA_INTERRUPTED';
const defaultCompensationBackoff: BackoffPolicy = { initialMs: 200, maxMs: 30_000, factor: 2, jitter: 0.2 };

function isTerminal(status: SagaStatus): status is SagaOutcomeStatus {
  return status === 'completed' || status === 'compensated' || status === 'failed';
}

function isLeaseLost(error: unknown): boolean {
  return isAppError(error) && error.reason === leaseLostReason;
}

/** What the log keeps of a thrown error: enough for an operator, no stack. */
function errorRecord(error: unknown, step?: string): SagaErrorRecord {
  const base: SagaErrorRecord = isAppError(error)
    ? { reason: error.reason, code: error.code, message: error.message }
    : error instanceof Error
      ? { reason: 'STEP_FAILED', message: `${error.name}: ${error.message}` }
      : { reason: 'STEP_FAILED', message: String(error) };
  return step === undefined ? base : { ...base, step };
}

/** Results are stored as JSON: a fresh run sees what a resumed one reads back from the log. */
function asJson(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

interface Drive {
  record: SagaRecord;
  definition: SagaDefinition<any>;
  /** Aborted when this runner stops or loses the saga's lease. */
  signal: AbortSignal;
  lease: AbortController;
  /** A remote step whose "started" went in with the previous step's "done" (one statement). */
  startedWithPrevious?: number;
  /** The last step's batch also ended the saga `completed`. */
  completedWithLast?: boolean;
  /**
   * A remote step's "done", not yet written: it goes into the batch of the planned step after it.
   * Until then the step is "started" in the log, as if this runner had died before writing it.
   */
  doneWithNext?: PendingDone;
}

interface PendingDone {
  index: number;
  attempt: number;
  change: StepChange;
}

interface StepCall {
  context: SagaStepContext<unknown>;
  dispose(): void;
}

/**
 * Runs sagas and keeps their log: each step is recorded before and after it runs, so `recover`
 * on another start knows what to invoke again (same idempotency key) and what to compensate.
 * One instance drives a saga at a time (a lease in the saga row, checked on every write).
 */
export class SagaRunner {
  readonly instanceId: string;
  readonly #log: SagaLog;
  readonly #definitions = new Map<string, SagaDefinition<any>>();
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #scheduler: Scheduler;
  readonly #random: () => number;
  readonly #leaseMs: number;
  readonly #defaultTimeoutMs: number;
  readonly #maxCompensationAttempts: number;
  readonly #backoff: BackoffPolicy;
  readonly #concurrency: number;
  readonly #metrics: SagaMetrics;
  readonly #logger: StructuredLogger;
  readonly #observer: SagaObserver | undefined;
  /** Saga ids this runner is driving (or about to): never claimed a second time by itself. */
  readonly #driving = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: SagaRunnerOptions) {
    this.#log = new SagaLog(options.database);
    for (const saga of options.sagas) {
      if (this.#definitions.has(saga.name)) throw InvalidArgument('DUPLICATE_SAGA', `saga ${saga.name} is registered twice`, { saga: saga.name });
      this.#definitions.set(saga.name, saga);
    }
    this.instanceId = options.instanceId ?? randomUUID();
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? uuidV7Ids;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#random = options.random ?? Math.random;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
    this.#maxCompensationAttempts = options.maxCompensationAttempts ?? 8;
    this.#backoff = backoffPolicy({ ...defaultCompensationBackoff, ...options.compensationBackoff });
    this.#concurrency = options.recoveryConcurrency ?? 4;
    this.#metrics = sagaMetrics(options.registry);
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer;
    if (!(this.#leaseMs >= 3)) throw new RangeError('leaseMs must be at least 3');
    if (!(this.#concurrency >= 1)) throw new RangeError('recoveryConcurrency must be at least 1');
  }

  /**
   * Records the saga, drives it to its end and returns how it ended. Throws Aborted
   * (SAGA_INTERRUPTED) when the runner stopped or another instance took the saga over before
   * the end: the saga goes on there, or in the next `recover`. With an `id` that exists already,
   * returns that saga's outcome when it ended, or drives it on when nobody else holds it.
   */
  async run<Input>(saga: SagaDefinition<Input>, input: Input, options: SagaRunOptions = {}): Promise<SagaOutcome> {
    const definition = this.#definitionOf(saga.name);
    if (this.#stop.signal.aborted) throw Unavailable('SAGA_RUNNER_STOPPED', 'the saga runner is stopped');
    const id = options.id ?? this.#ids.next();
    if (!isUuid(id)) throw InvalidArgument('INVALID_SAGA_ID', 'a saga id is a lower-case UUID', { sagaId: id });
    if (this.#driving.has(id)) throw Conflict('SAGA_IN_PROGRESS', `saga ${id} is being driven`, { sagaId: id });
    const now = this.#clock.now();
    const deadline = options.deadline ?? now + (options.timeoutMs ?? definition.options.timeoutMs ?? this.#defaultTimeoutMs);
    this.#driving.add(id);
    let record: SagaRecord | undefined;
    try {
      const fresh: SagaRecord = {
        id,
        name: definition.name,
        input: asJson(input),
        status: 'running',
        error: null,
        deadline: new Date(deadline),
        owner: this.instanceId,
        leaseUntil: this.#leaseUntil(),
        createdAt: new Date(now),
        updatedAt: new Date(now),
        finishedAt: null,
        steps: definition.steps.map((step, index) => ({
          index,
          name: step.name,
          local: step.local === true,
          invokeStatus: 'pending',
          invokeAttempts: 0,
          result: null,
          invokeError: null,
          invokedAt: null,
          compensateStatus: 'pending',
          compensateAttempts: 0,
          compensateError: null,
          compensatedAt: null,
        })),
      };
      if (await this.#log.insert(fresh, this.instanceId, fresh.leaseUntil as Date, fresh.createdAt)) {
        this.#metrics.started(definition.name);
        // Exactly what was written: no read back.
        record = fresh;
      } else {
        const existing = await this.#log.load(id);
        if (existing === undefined) throw Conflict('SAGA_IN_PROGRESS', `saga ${id} could not be recorded`, { sagaId: id });
        if (existing.name !== definition.name) throw Conflict('SAGA_ID_TAKEN', `saga id ${id} belongs to saga ${existing.name}`, { sagaId: id });
        if (isTerminal(existing.status)) return this.#outcome(existing, existing.status);
        const claimed = await this.#claim({ id, limit: 1, exclude: [] });
        if (claimed.length === 0) throw Conflict('SAGA_IN_PROGRESS', `saga ${id} is being driven by another instance`, { sagaId: id });
        record = await this.#log.load(id);
      }
    } finally {
      if (record === undefined) this.#driving.delete(id);
    }
    if (record === undefined) throw NotFound('SAGA_NOT_FOUND', `saga ${id} vanished`, { sagaId: id });
    return await this.#drive(record, definition);
  }

  /**
   * Takes over every unfinished saga of the registered names that no live instance holds (and
   * this runner's own from before a restart, when `instanceId` is stable) and drives each to its
   * end: a step recorded started but not done is invoked again with the same key, a compensating
   * saga goes on compensating, a saga past its deadline compensates. Call it at start-up; `start`
   * calls it periodically to pick up what a dead instance left.
   */
  async recover(): Promise<SagaRecoveryReport> {
    const report: SagaRecoveryReport = { resumed: 0, completed: 0, compensated: 0, failed: 0, interrupted: 0, errors: [] };
    // A saga whose drive failed is released and would be claimable again at once: once per call.
    const attempted = new Set<string>();
    while (!this.#stop.signal.aborted) {
      const ids = await this.#claim({ limit: this.#concurrency, exclude: [...attempted] });
      if (ids.length === 0) break;
      for (const id of ids) {
        attempted.add(id);
        this.#driving.add(id);
      }
      await Promise.all(
        ids.map(async (id) => {
          report.resumed += 1;
          try {
            const record = await this.#log.load(id);
            if (record === undefined) return;
            const outcome = await this.#drive(record, this.#definitionOf(record.name));
            report[outcome.status] += 1;
          } catch (error) {
            if (isAppError(error) && error.reason === interruptedReason) {
              report.interrupted += 1;
            } else {
              report.errors.push({ sagaId: id, message: error instanceof Error ? error.message : String(error) });
              this.#logger.error({ sagaId: id, err: errorRecord(error) }, 'saga recovery failed; a later pass retries it');
            }
          } finally {
            this.#driving.delete(id);
          }
        }),
      );
    }
    return report;
  }

  /** Runs `recover` now and then every `intervalMs` (default: the lease) until `stop`. */
  start(options: { intervalMs?: number } = {}): void {
    if (this.#loop !== undefined || this.#stop.signal.aborted) return;
    const intervalMs = options.intervalMs ?? this.#leaseMs;
    this.#loop = (async () => {
      while (!this.#stop.signal.aborted) {
        try {
          await this.recover();
        } catch (error) {
          this.#logger.error({ err: errorRecord(error) }, 'saga recovery pass failed');
        }
        await this.#sleep(intervalMs, this.#stop.signal).catch(() => undefined);
      }
    })();
  }

  /**
   * Stops for good: steps in flight see their signal abort, each saga stops at its next step
   * boundary and is released so another instance can take it at once.
   */
  async stop(): Promise<void> {
    this.#stop.abort(Unavailable('SAGA_RUNNER_STOPPED', 'the saga runner is stopping'));
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async get(id: string): Promise<SagaRecord | undefined> {
    return await this.#log.load(id);
  }

  /** Newest first. `status: 'failed'` lists the sagas waiting for an operator. */
  async list(query: { status?: SagaStatus; name?: string; limit?: number; before?: string } = {}): Promise<SagaSummary[]> {
    if (query.before !== undefined && !isUuid(query.before)) throw InvalidArgument('INVALID_CURSOR', 'before is a saga id', { before: query.before });
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw InvalidArgument('INVALID_LIMIT', 'limit is 1 to 1000', { limit });
    return await this.#log.list({ ...query, limit });
  }

  /**
   * For an operator, once the cause is fixed: a `failed` saga compensates again, each failed
   * compensation with a fresh attempt budget.
   */
  async retry(id: string): Promise<SagaOutcome> {
    if (this.#driving.has(id)) throw Conflict('SAGA_IN_PROGRESS', `saga ${id} is being driven`, { sagaId: id });
    this.#driving.add(id);
    let record: SagaRecord | undefined;
    try {
      if (!(await this.#log.rearm(id, this.instanceId, new Date(this.#clock.now()), this.#leaseUntil()))) {
        const existing = await this.#log.load(id);
        if (existing === undefined) throw NotFound('SAGA_NOT_FOUND', `no saga ${id}`, { sagaId: id });
        throw Conflict('SAGA_NOT_FAILED', `saga ${id} is ${existing.status}, not failed`, { sagaId: id, status: existing.status });
      }
      record = await this.#log.load(id);
    } finally {
      if (record === undefined) this.#driving.delete(id);
    }
    if (record === undefined) throw NotFound('SAGA_NOT_FOUND', `no saga ${id}`, { sagaId: id });
    return await this.#drive(record, this.#definitionOf(record.name));
  }

  #definitionOf(name: string): SagaDefinition<any> {
    const definition = this.#definitions.get(name);
    if (definition === undefined) throw InvalidArgument('UNKNOWN_SAGA', `saga ${name} is not registered with this runner`, { saga: name });
    return definition;
  }

  #leaseUntil(): Date {
    return new Date(this.#clock.now() + this.#leaseMs);
  }

  async #claim(options: { limit: number; exclude: readonly string[]; id?: string }): Promise<string[]> {
    return await this.#log.claim({
      names: [...this.#definitions.keys()],
      owner: this.instanceId,
      now: new Date(this.#clock.now()),
      leaseUntil: this.#leaseUntil(),
      exclude: [...this.#driving, ...options.exclude],
      limit: options.limit,
      id: options.id,
    });
  }

  /** The caller has put the id into #driving; it leaves when the drive ends. */
  #drive(record: SagaRecord, definition: SagaDefinition<any>): Promise<SagaOutcome> {
    const promise = this.#driveToEnd(record, definition).finally(() => {
      this.#driving.delete(record.id);
      this.#inFlight.delete(promise);
    });
    this.#inFlight.add(promise);
    return promise;
  }

  async #driveToEnd(record: SagaRecord, definition: SagaDefinition<any>): Promise<SagaOutcome> {
    const lease = new AbortController();
    const drive: Drive = { record, definition, lease, signal: AbortSignal.any([this.#stop.signal, lease.signal]) };
    const heartbeat = this.#heartbeat(drive);
    try {
      const changed = this.#definitionChange(record, definition);
      if (changed !== undefined) await this.#finish(drive, 'failed', changed);
      for (;;) {
        if (isTerminal(record.status)) return this.#outcome(record, record.status);
        if (drive.signal.aborted) throw this.#interrupted(record);
        if (record.status === 'running') await this.#invokeNext(drive);
        else await this.#compensateNext(drive);
      }
    } catch (error) {
      if (isLeaseLost(error)) lease.abort(error);
      if (drive.signal.aborted) throw this.#interrupted(record, error);
      throw error;
    } finally {
      heartbeat.stop();
      if (!isTerminal(record.status) && !lease.signal.aborted) {
        await this.#log.release(record.id, this.instanceId).catch((error: unknown) => {
          this.#logger.warn({ sagaId: record.id, err: errorRecord(error) }, 'could not release a saga; it is taken over when its lease ends');
        });
      }
    }
  }

  /** A saga recorded under other steps than the code now has cannot be driven safely: an operator decides. */
  #definitionChange(record: SagaRecord, definition: SagaDefinition<any>): SagaErrorRecord | undefined {
    const recorded = record.steps.map((step) => `${step.name}${step.local ? ' (local)' : ''}`).join(', ');
    const current = definition.steps.map((step) => `${step.name}${step.local === true ? ' (local)' : ''}`).join(', ');
    if (recorded === current) return undefined;
    return { reason: 'SAGA_DEFINITION_CHANGED', message: `saga ${record.name} was recorded with steps [${recorded}], the code has [${current}]` };
  }

  async #invokeNext(drive: Drive): Promise<void> {
    const { record, definition } = drive;
    const index = record.steps.findIndex((row) => row.invokeStatus !== 'done');
    if (index === -1) {
      await this.#finish(drive, 'completed');
      return;
    }
    const row = record.steps[index]!;
    const step = definition.steps[index]!;
    // Already recorded with the previous step's "done", just now: no second record, no deadline check.
    const alreadyStarted = drive.startedWithPrevious === index;
    drive.startedWithPrevious = undefined;
    // The previous step's "done" goes with this step's batch; anything else writes it first.
    let pending = drive.doneWithNext;
    drive.doneWithNext = undefined;
    // Once the previous step's "done" is written, its `invoked` is told.
    const pendingWritten = async (written: PendingDone): Promise<void> => {
      pending = undefined;
      await this.#emit({ type: 'invoked', sagaId: record.id, saga: record.name, step: record.steps[written.index]!.name, attempt: written.attempt });
    };
    const writePending = async (): Promise<void> => {
      if (pending === undefined) return;
      const written = pending;
      await this.#updateStep(drive, written.index, written.change);
      await pendingWritten(written);
    };
    if (pending !== undefined && (pending.index !== index - 1 || !isPlannedStep(step) || this.#clock.now() >= record.deadline.getTime())) await writePending();
    if (!alreadyStarted && this.#clock.now() >= record.deadline.getTime()) {
      const error = { reason: 'SAGA_DEADLINE_EXCEEDED', message: `saga ${record.name} passed its deadline before step ${step.name}`, step: step.name };
      await this.#write(drive, (trx) => this.#log.setStatus(trx, record.id, 'compensating', this.#now(), error));
      record.status = 'compensating';
      record.error = error;
      return;
    }
    const attempt = alreadyStarted ? row.invokeAttempts : row.invokeAttempts + 1;
    if (step.local === true) {
      await this.#emit({ type: 'invoking', sagaId: record.id, saga: record.name, step: step.name, attempt });
      const call = this.#call(drive, step.name, `${record.id}:${step.name}`, attempt, true);
      let result: unknown;
      try {
        // The step's own change and the record that it is done commit together, or neither does.
        if (isPlannedStep(step)) {
          for (let plans = 1; ; plans += 1) {
            const planned = await step.plan({ ...call.context, db: this.#log.db });
            result = asJson(planned.result);
            // As a remote step's "done": the next remote step's "started" goes in the same batch,
            // and after the last step the saga's end does too.
            const next = this.#nextRemoteToStart(drive, index);
            const last = index === definition.steps.length - 1;
            const changes = [{ index, change: stepChanges.invokeDone(attempt, result, this.#now()) }];
            if (pending !== undefined) changes.unshift({ index: pending.index, change: pending.change });
            if (next !== undefined) changes.push({ index: next.index, change: stepChanges.invokeStarted(next.attempt) });
            try {
              await this.#batchLocal(drive, planned.writes, changes, last ? 'completed' : undefined);
            } catch (error) {
              if (isStalePlan(error) && plans < maxPlans) continue;
              throw error;
            }
            if (pending !== undefined) await pendingWritten(pending);
            if (next !== undefined) {
              Object.assign(record.steps[next.index]!, { invokeStatus: 'started', invokeAttempts: next.attempt });
              drive.startedWithPrevious = next.index;
            }
            if (last) drive.completedWithLast = true;
            planned.afterCommit?.();
            break;
          }
        } else {
          result = await this.#writeLocal(drive, async (trx) => {
            const value = asJson(await step.invoke({ ...call.context, trx }));
            await this.#updateStep(drive, index, stepChanges.invokeDone(attempt, value, this.#now()), trx);
            return value;
          });
        }
      } catch (error) {
        // The step before took effect whatever this one did: its "done" is written first. A lost
        // lease or a stop leaves it "started", for whoever drives the saga next.
        if (!isLeaseLost(error) && !drive.signal.aborted) await writePending();
        await this.#invokeFailed(drive, index, attempt, error);
        return;
      } finally {
        call.dispose();
      }
      Object.assign(row, { invokeStatus: 'done', invokeAttempts: attempt, result, invokeError: null });
    } else {
      // Recorded before the call: a crash from here on means "in doubt", so a restart calls again
      // with the same key, and a compensation covers it.
      if (!alreadyStarted) await this.#updateStep(drive, index, stepChanges.invokeStarted(attempt));
      Object.assign(row, { invokeStatus: 'started', invokeAttempts: attempt });
      await this.#emit({ type: 'invoking', sagaId: record.id, saga: record.name, step: step.name, attempt });
      const call = this.#call(drive, step.name, `${record.id}:${step.name}`, attempt, true);
      let result: unknown;
      try {
        result = asJson(await step.invoke(call.context));
      } catch (error) {
        await this.#invokeFailed(drive, index, attempt, error);
        return;
      } finally {
        call.dispose();
      }
      const done = { index, change: stepChanges.invokeDone(attempt, result, this.#now()) };
      const next = this.#nextRemoteToStart(drive, index);
      if (next !== undefined) {
        await this.#updateSteps(drive, [done, { index: next.index, change: stepChanges.invokeStarted(next.attempt) }]);
        Object.assign(record.steps[next.index]!, { invokeStatus: 'started', invokeAttempts: next.attempt });
        drive.startedWithPrevious = next.index;
      } else if (this.#plannedNext(drive, index)) {
        // Written with the next step's batch, or before whatever is written instead (above):
        // a crash in between leaves this step "started", so it is called again with its key,
        // as after a crash just before its "done". Its `invoked` comes once that is written.
        drive.doneWithNext = { ...done, attempt };
        Object.assign(row, { invokeStatus: 'done', result, invokeError: null });
        return;
      } else {
        await this.#updateStep(drive, index, done.change);
      }
      Object.assign(row, { invokeStatus: 'done', result, invokeError: null });
    }
    await this.#emit({ type: 'invoked', sagaId: record.id, saga: record.name, step: step.name, attempt });
    if (drive.completedWithLast) await this.#finished(drive, 'completed');
  }

  /** The step after `index` is planned, and the drive may go on to it now. */
  #plannedNext(drive: Drive, index: number): boolean {
    const { record, definition } = drive;
    const nextStep = definition.steps[index + 1];
    if (nextStep === undefined || !isPlannedStep(nextStep) || record.steps[index + 1]?.invokeStatus === 'done') return false;
    return !drive.signal.aborted && this.#clock.now() < record.deadline.getTime();
  }

  /**
   * The remote step after `index` whose "started" may be recorded with `index`'s "done", as if
   * written right after it: a crash before that record leaves `index` as it was, after it the
   * next step in doubt (called again with its key). The same states as two writes, one turn of
   * the database fewer. Not past the deadline, nor once the drive was stopped.
   */
  #nextRemoteToStart(drive: Drive, index: number): { index: number; attempt: number } | undefined {
    const { record, definition } = drive;
    const next = index + 1;
    const nextRow = record.steps[next];
    const nextStep = definition.steps[next];
    if (nextStep === undefined || nextStep.local === true || nextRow === undefined || nextRow.invokeStatus === 'done') return undefined;
    if (drive.signal.aborted || this.#clock.now() >= record.deadline.getTime()) return undefined;
    return { index: next, attempt: nextRow.invokeAttempts + 1 };
  }

  async #invokeFailed(drive: Drive, index: number, attempt: number, error: unknown): Promise<void> {
    // Not the step's fault: leave it as recorded for whoever drives the saga next.
    if (isLeaseLost(error) || drive.signal.aborted) throw error;
    const { record } = drive;
    const row = record.steps[index]!;
    const stepError = errorRecord(error);
    const sagaError: SagaErrorRecord =
      this.#clock.now() >= record.deadline.getTime()
        ? { reason: 'SAGA_DEADLINE_EXCEEDED', message: `saga ${record.name} passed its deadline in step ${row.name}: ${stepError.message}`, step: row.name }
        : { ...stepError, step: row.name };
    await this.#write(drive, async (trx) => {
      await this.#log.invokeFailed(trx, record.id, index, attempt, stepError, this.#now());
      await this.#log.setStatus(trx, record.id, 'compensating', this.#now(), sagaError);
    });
    Object.assign(row, { invokeStatus: 'failed', invokeAttempts: attempt, invokeError: stepError });
    record.status = 'compensating';
    record.error = sagaError;
    await this.#emit({ type: 'invoke-failed', sagaId: record.id, saga: record.name, step: row.name, attempt, error: stepError });
  }

  /** The latest step that still needs undoing: compensations run strictly in reverse. */
  #nextToCompensate(drive: Drive): number {
    const { record, definition } = drive;
    for (let index = record.steps.length - 1; index >= 0; index -= 1) {
      const row = record.steps[index]!;
      const step = definition.steps[index]!;
      if (!canCompensate(step) || row.compensateStatus === 'done' || row.compensateStatus === 'not_needed') continue;
      if (row.invokeStatus === 'done') return index;
      // A remote call that failed or was cut off may have taken effect; a local one rolled back.
      if (step.local !== true && (row.invokeStatus === 'started' || row.invokeStatus === 'failed')) return index;
    }
    return -1;
  }

  async #compensateNext(drive: Drive): Promise<void> {
    const { record, definition } = drive;
    const index = this.#nextToCompensate(drive);
    if (index === -1) {
      await this.#finish(drive, 'compensated');
      return;
    }
    const row = record.steps[index]!;
    const step = definition.steps[index]! as SagaStep<unknown, unknown>;
    const attempt = row.compensateAttempts + 1;
    const fields = { result: row.invokeStatus === 'done' ? row.result : undefined, invokeCompleted: row.invokeStatus === 'done' };
    const key = `${record.id}:${step.name}:compensate`;
    if (step.local === true) {
      await this.#emit({ type: 'compensating', sagaId: record.id, saga: record.name, step: step.name, attempt });
      const call = this.#call(drive, step.name, key, attempt, false);
      try {
        if (isPlannedStep(step)) {
          for (let plans = 1; ; plans += 1) {
            const planned = await step.planCompensation?.({ ...call.context, ...fields, db: this.#log.db });
            try {
              await this.#batchLocal(drive, planned?.writes ?? [], [{ index, change: stepChanges.compensateDone(attempt, this.#now()) }]);
            } catch (error) {
              if (isStalePlan(error) && plans < maxPlans) continue;
              throw error;
            }
            planned?.afterCommit?.();
            break;
          }
        } else {
          await this.#writeLocal(drive, async (trx) => {
            await step.compensate?.({ ...call.context, ...fields, trx });
            await this.#updateStep(drive, index, stepChanges.compensateDone(attempt, this.#now()), trx);
          });
        }
      } catch (error) {
        await this.#compensateFailed(drive, index, attempt, error);
        return;
      } finally {
        call.dispose();
      }
    } else {
      await this.#updateStep(drive, index, stepChanges.compensateStarted(attempt));
      Object.assign(row, { compensateStatus: 'started', compensateAttempts: attempt });
      await this.#emit({ type: 'compensating', sagaId: record.id, saga: record.name, step: step.name, attempt });
      const call = this.#call(drive, step.name, key, attempt, false);
      try {
        await step.compensate?.({ ...call.context, ...fields });
      } catch (error) {
        await this.#compensateFailed(drive, index, attempt, error);
        return;
      } finally {
        call.dispose();
      }
      await this.#updateStep(drive, index, stepChanges.compensateDone(attempt, this.#now()));
    }
    Object.assign(row, { compensateStatus: 'done', compensateAttempts: attempt, compensateError: null });
    await this.#emit({ type: 'compensated', sagaId: record.id, saga: record.name, step: step.name, attempt });
  }

  async #compensateFailed(drive: Drive, index: number, attempt: number, error: unknown): Promise<void> {
    if (isLeaseLost(error) || drive.signal.aborted) throw error;
    const { record, definition } = drive;
    const row = record.steps[index]!;
    const stepError = errorRecord(error);
    const maxAttempts = definition.options.maxCompensationAttempts ?? this.#maxCompensationAttempts;
    const record_ = (trx: Transaction<any>): Promise<void> => this.#log.compensateFailed(trx, record.id, index, attempt, stepError, this.#now());
    Object.assign(row, { compensateStatus: 'failed', compensateAttempts: attempt, compensateError: stepError });
    if (attempt >= maxAttempts) {
      // Never dropped: the saga stays `failed`, listed for an operator, until `retry`.
      const sagaError = { reason: 'COMPENSATION_FAILED', message: `compensation of ${row.name} failed ${attempt} times: ${stepError.message}`, step: row.name };
      await this.#emit({ type: 'compensate-failed', sagaId: record.id, saga: record.name, step: row.name, attempt, error: stepError });
      await this.#finish(drive, 'failed', sagaError, record_);
      return;
    }
    await this.#write(drive, record_);
    this.#metrics.compensationRetried(record.name);
    await this.#emit({ type: 'compensate-failed', sagaId: record.id, saga: record.name, step: row.name, attempt, error: stepError });
    await this.#sleep(backoffDelay(attempt, this.#backoff, this.#random), drive.signal);
  }

  async #finish(drive: Drive, status: SagaOutcomeStatus, error?: SagaErrorRecord, alsoInTransaction?: (trx: Transaction<any>) => Promise<void>): Promise<void> {
    const { record } = drive;
    if (status !== 'failed' && alsoInTransaction === undefined) {
      await this.#guarded(drive, () => this.#log.finish({ id: record.id, owner: this.instanceId }, status, this.#now(), error));
    } else {
      await this.#write(drive, async (trx) => {
        await alsoInTransaction?.(trx);
        await this.#log.setStatus(trx, record.id, status, this.#now(), error);
      });
    }
    await this.#finished(drive, status, error);
  }

  /** What follows the saga's end once it is written. */
  async #finished(drive: Drive, status: SagaOutcomeStatus, error?: SagaErrorRecord): Promise<void> {
    const { record } = drive;
    record.status = status;
    if (error !== undefined) record.error = error;
    this.#metrics.finished(record.name, status);
    if (status === 'failed') {
      this.#logger.error({ sagaId: record.id, saga: record.name, error: record.error }, 'saga failed: it needs an operator');
    }
    await this.#emit({ type: 'finished', sagaId: record.id, saga: record.name, status, error: record.error });
  }

  #outcome(record: SagaRecord, status: SagaOutcomeStatus): SagaOutcome {
    return { id: record.id, name: record.name, status, results: this.#results(record), error: record.error };
  }

  #results(record: SagaRecord): Record<string, unknown> {
    const results: Record<string, unknown> = {};
    for (const row of record.steps) if (row.invokeStatus === 'done') results[row.name] = row.result;
    return results;
  }

  #interrupted(record: SagaRecord, cause?: unknown): Error {
    return Aborted(interruptedReason, `saga ${record.id} stopped before its end; it goes on in the next recovery`, { sagaId: record.id, status: record.status }, { cause });
  }

  #now(): Date {
    return new Date(this.#clock.now());
  }

  async #write<T>(drive: Drive, work: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    return await this.#guarded(drive, () => this.#log.write(drive.record.id, this.instanceId, this.#now(), this.#leaseUntil(), work));
  }

  /** A local step's transaction: `work` ends with `#updateStep(…, trx)`, which checks the lease. */
  async #writeLocal<T>(drive: Drive, work: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    return await this.#guarded(drive, () => this.#log.transaction(work));
  }

  /** A planned local step's writes and its record, one batch. */
  async #batchLocal(drive: Drive, writes: LocalWrites<unknown>['writes'], changes: ReadonlyArray<{ index: number; change: StepChange }>, end?: 'completed'): Promise<void> {
    await this.#guarded(drive, () => this.#log.batch(writes, { id: drive.record.id, owner: this.instanceId, leaseUntil: this.#leaseUntil() }, changes, this.#now(), end));
  }

  /** One step's record and the lease renewal in one statement (in `trx` when given). */
  async #updateStep(drive: Drive, index: number, change: StepChange, trx?: Transaction<any>): Promise<void> {
    await this.#guarded(drive, () => this.#log.updateStep(trx, { id: drive.record.id, owner: this.instanceId, leaseUntil: this.#leaseUntil() }, index, change, this.#now()));
  }

  async #updateSteps(drive: Drive, changes: ReadonlyArray<{ index: number; change: StepChange }>): Promise<void> {
    await this.#guarded(drive, () => this.#log.updateSteps(undefined, { id: drive.record.id, owner: this.instanceId, leaseUntil: this.#leaseUntil() }, changes, this.#now()));
  }

  /** A write that finds the saga taken over aborts the drive's lease signal. */
  async #guarded<T>(drive: Drive, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isLeaseLost(error)) drive.lease.abort(error);
      throw error;
    }
  }

  /** One context per attempt; invoke's signal also aborts at the saga's deadline. */
  #call(drive: Drive, stepName: string, idempotencyKey: string, attempt: number, bounded: boolean): StepCall {
    const { record } = drive;
    const deadline = record.deadline.getTime();
    let signal = drive.signal;
    let timer: unknown;
    if (bounded) {
      const expiry = new AbortController();
      const reason = (): Error => DeadlineExceeded('SAGA_DEADLINE_EXCEEDED', `saga ${record.name} passed its deadline`, { sagaId: record.id });
      const remaining = deadline - this.#clock.now();
      if (remaining <= 0) expiry.abort(reason());
      else timer = this.#scheduler.setTimeout(() => expiry.abort(reason()), remaining);
      signal = AbortSignal.any([drive.signal, expiry.signal]);
    }
    const clock = this.#clock;
    const context: SagaStepContext<unknown> = {
      sagaId: record.id,
      sagaName: record.name,
      stepName,
      input: record.input,
      results: Object.freeze(this.#results(record)),
      idempotencyKey,
      attempt,
      deadline,
      remainingMs: () => Math.max(0, deadline - clock.now()),
      signal,
    };
    return { context, dispose: () => (timer === undefined ? undefined : this.#scheduler.clearTimeout(timer)) };
  }

  /** Keeps the lease alive through a long step; a failed renewal means someone else has the saga. */
  #heartbeat(drive: Drive): { stop(): void } {
    let stopped = false;
    let timer: unknown;
    const every = Math.max(1, Math.floor(this.#leaseMs / 3));
    const beat = (): void => {
      timer = this.#scheduler.setTimeout(() => {
        this.#log.renew(drive.record.id, this.instanceId, this.#leaseUntil()).then(
          (renewed) => {
            if (stopped) return;
            if (renewed) beat();
            else drive.lease.abort(Aborted(leaseLostReason, `saga ${drive.record.id} was taken over`, { sagaId: drive.record.id }));
          },
          (error: unknown) => {
            this.#logger.warn({ sagaId: drive.record.id, err: errorRecord(error) }, 'saga lease renewal failed; trying again');
            if (!stopped) beat();
          },
        );
      }, every);
    };
    beat();
    return {
      stop: () => {
        stopped = true;
        this.#scheduler.clearTimeout(timer);
      },
    };
  }

  async #emit(event: SagaEvent): Promise<void> {
    if (this.#observer === undefined) return;
    try {
      await this.#observer(event);
    } catch (error) {
      // A broken listener must not change what the saga does.
      this.#logger.warn({ sagaId: event.sagaId, err: errorRecord(error) }, 'saga observer failed');
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#scheduler.clearTimeout(timer);
        reject(signal.reason as Error);
      };
      const timer = this.#scheduler.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
