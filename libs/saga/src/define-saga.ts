import { Aborted, InvalidArgument, isAppError } from '@carshare/platform';
import type { BatchStatement } from '@carshare/storage';
import type { Kysely, Transaction } from 'kysely';

/** What every step invocation receives. A plain object: one is made per call. */
export interface SagaStepContext<Input> {
  readonly sagaId: string;
  readonly sagaName: string;
  readonly stepName: string;
  readonly input: Input;
  /** Results of the steps recorded done before this one, by step name, as read back from the log (JSON). */
  readonly results: Readonly<Record<string, unknown>>;
  /**
   * `${sagaId}:${stepName}` for invoke, `${sagaId}:${stepName}:compensate` for compensate. The same
   * on every attempt, also after a restart: pass it to the downstream call so a repeat is absorbed.
   */
  readonly idempotencyKey: string;
  /** 1 on the first attempt; higher after a crash (invoke) or a failed compensation. */
  readonly attempt: number;
  /** Epoch ms. Compensations run past it: undoing must finish even when the saga ran out of time. */
  readonly deadline: number;
  /** Milliseconds left before the deadline (0 when past it), from the runner's clock. */
  remainingMs(): number;
  /**
   * Aborted at the deadline (invoke only), when the runner stops, or when another instance took
   * the saga over. Pass it to downstream calls.
   */
  readonly signal: AbortSignal;
}

export interface LocalStepContext<Input> extends SagaStepContext<Input> {
  /** The transaction that also records the step in the saga log: both commit or neither. */
  readonly trx: Transaction<any>;
}

export interface CompensationFields<Result> {
  /**
   * The step's result when its invoke was recorded done; undefined when it is in doubt (a remote
   * invoke failed or was cut off, so it may or may not have taken effect downstream).
   */
  readonly result: Result | undefined;
  readonly invokeCompleted: boolean;
}

export type CompensationContext<Input, Result> = SagaStepContext<Input> & CompensationFields<Result>;
export type LocalCompensationContext<Input, Result> = LocalStepContext<Input> & CompensationFields<Result>;

/**
 * A step that calls another service. Its invoke is recorded `started` before the call and `done`
 * after it, so a crash in between invokes it again with the same idempotency key. If its invoke
 * fails, its own compensation runs too (after the later ones, before the earlier ones): a call
 * that failed on a timeout may still have taken effect, as in Temporal's saga sample.
 */
export interface RemoteSagaStep<Input, Result = unknown> {
  readonly name: string;
  readonly local?: false;
  invoke(context: SagaStepContext<Input>): Promise<Result>;
  compensate?(context: CompensationContext<Input, Result>): Promise<void>;
}

/**
 * A step that changes the service's own tables: invoke (and compensate) run inside the
 * transaction that records them done, so each takes effect exactly once. A failed local invoke
 * rolled back, so it is not compensated.
 */
export interface LocalSagaStep<Input, Result = unknown> {
  readonly name: string;
  readonly local: true;
  invoke(context: LocalStepContext<Input>): Promise<Result>;
  compensate?(context: LocalCompensationContext<Input, Result>): Promise<void>;
}

export interface PlanContext<Input> extends SagaStepContext<Input> {
  /**
   * The service's database, for what the plan reads before deciding its writes. Not a
   * transaction: whatever a write relies on, it checks again itself (a guard, a WHERE).
   */
  readonly db: Kysely<any>;
}

export type PlanCompensationContext<Input, Result> = PlanContext<Input> & CompensationFields<Result>;

/** A planned step's decision: the writes, and what the step answers once they committed. */
export interface LocalWrites<Result> {
  /** Run in one transaction with the step's record; a guard that changes nothing fails the step, and nothing of it is written. */
  readonly writes: readonly BatchStatement[];
  readonly result: Result;
  /** Runs once they committed (to wake the outbox relay, say). */
  readonly afterCommit?: () => void;
}

/**
 * A local step decided before it writes: `plan` reads what it needs and answers its writes, which
 * go to the database in one batch with the step's record (ServiceDatabase.batch) instead of an
 * interactive transaction. On the shared PGlite session that holds the session only to send them
 * (ADR 0034). For a step whose writes are known once it has read: each write must check what it
 * relies on itself, since nothing holds the rows between the read and the batch. A failed guard
 * rolls the batch back, so the step is not compensated, as a failed local invoke.
 */
export interface PlannedLocalSagaStep<Input, Result = unknown> {
  readonly name: string;
  readonly local: true;
  plan(context: PlanContext<Input>): Promise<LocalWrites<Result>>;
  planCompensation?(context: PlanCompensationContext<Input, Result>): Promise<LocalWrites<void>>;
  readonly invoke?: never;
  readonly compensate?: never;
}

export type SagaStep<Input, Result = unknown> = RemoteSagaStep<Input, Result> | LocalSagaStep<Input, Result> | PlannedLocalSagaStep<Input, Result>;

/**
 * For a planned step's guard whose failure means only that what the plan read has changed (not
 * that the step cannot be done): the runner plans the step again on what is there now, up to
 * `maxPlans` times, instead of failing it.
 */
export function stalePlan(message: string, details: Record<string, unknown> = {}): Error {
  return Aborted(stalePlanReason, message, details);
}

export const stalePlanReason = 'SAGA_PLAN_STALE';
export const maxPlans = 5;

export function isStalePlan(error: unknown): boolean {
  return isAppError(error) && error.reason === stalePlanReason;
}

export function isPlannedStep<Step extends SagaStep<any, any>>(step: Step): step is Extract<Step, PlannedLocalSagaStep<any, any>> {
  return step.local === true && 'plan' in step && typeof step.plan === 'function';
}

/** Whether the step has something to undo: a compensation or a planned one. */
export function canCompensate(step: SagaStep<any, any>): boolean {
  return isPlannedStep(step) ? step.planCompensation !== undefined : step.compensate !== undefined;
}

export interface SagaOptions {
  /** From start to deadline unless `run` is given one. Default: the runner's `defaultTimeoutMs`. */
  timeoutMs?: number;
  /** Attempts per compensation before the saga is `failed` for an operator. Default: the runner's. */
  maxCompensationAttempts?: number;
}

export interface SagaDefinition<Input> {
  readonly name: string;
  readonly steps: ReadonlyArray<SagaStep<Input, any>>;
  readonly options: Readonly<SagaOptions>;
}

const namePattern = /^[a-z][a-z0-9]*([.-][a-z0-9]+)*$/;

/**
 * Declares a saga: steps run in order; when one fails or the deadline passes, the compensations
 * of the steps run so far run in reverse. Names are part of the persisted log: renaming a step
 * strands sagas in flight under the old name.
 */
export function defineSaga<Input>(name: string, steps: ReadonlyArray<SagaStep<Input, any>>, options: SagaOptions = {}): SagaDefinition<Input> {
  if (!namePattern.test(name)) throw InvalidArgument('INVALID_SAGA_NAME', `saga name ${JSON.stringify(name)} is not lower-case words`, { name });
  if (steps.length === 0) throw InvalidArgument('INVALID_SAGA', `saga ${name} has no steps`, { name });
  const seen = new Set<string>();
  for (const step of steps) {
    if (!namePattern.test(step.name)) {
      throw InvalidArgument('INVALID_STEP_NAME', `step name ${JSON.stringify(step.name)} of saga ${name} is not lower-case words`, { name, step: step.name });
    }
    const planned = 'plan' in step && step.plan !== undefined;
    if (planned === ('invoke' in step && step.invoke !== undefined) || (planned && step.local !== true)) {
      throw InvalidArgument('INVALID_STEP', `step ${step.name} of saga ${name} needs either invoke or, local, plan`, { name, step: step.name });
    }
    if (seen.has(step.name)) throw InvalidArgument('DUPLICATE_STEP', `saga ${name} has two steps named ${step.name}`, { name, step: step.name });
    seen.add(step.name);
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new RangeError(`timeoutMs of saga ${name} must be positive`);
  if (options.maxCompensationAttempts !== undefined && !(options.maxCompensationAttempts >= 1)) {
    throw new RangeError(`maxCompensationAttempts of saga ${name} must be at least 1`);
  }
  return Object.freeze({ name, steps: Object.freeze([...steps]), options: Object.freeze({ ...options }) });
}
