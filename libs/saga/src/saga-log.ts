import { Aborted } from '@carshare/platform';
import type { BatchStatement, ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';

export type SagaStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';
export type StepInvokeStatus = 'pending' | 'started' | 'done' | 'failed';
export type StepCompensateStatus = 'pending' | 'started' | 'done' | 'failed' | 'not_needed';

/** Why a saga compensated or failed, or why a step's attempt failed. */
export interface SagaErrorRecord {
  reason: string;
  message: string;
  step?: string;
  code?: string;
}

export interface SagaStepRecord {
  index: number;
  name: string;
  local: boolean;
  invokeStatus: StepInvokeStatus;
  invokeAttempts: number;
  result: unknown;
  invokeError: SagaErrorRecord | null;
  invokedAt: Date | null;
  compensateStatus: StepCompensateStatus;
  compensateAttempts: number;
  compensateError: SagaErrorRecord | null;
  compensatedAt: Date | null;
}

export interface SagaRecord {
  id: string;
  name: string;
  input: unknown;
  status: SagaStatus;
  error: SagaErrorRecord | null;
  deadline: Date;
  owner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  steps: SagaStepRecord[];
}

export type SagaSummary = Omit<SagaRecord, 'steps'>;

interface SagaRow {
  id: string;
  name: string;
  input: unknown;
  status: SagaStatus;
  error: SagaErrorRecord | null;
  deadline: Date;
  owner: string | null;
  lease_until: Date | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

interface StepRow {
  step_index: number;
  step_name: string;
  local: boolean;
  invoke_status: StepInvokeStatus;
  invoke_attempts: number;
  result: unknown;
  invoke_error: SagaErrorRecord | null;
  invoked_at: Date | null;
  compensate_status: StepCompensateStatus;
  compensate_attempts: number;
  compensate_error: SagaErrorRecord | null;
  compensated_at: Date | null;
}

const toDate = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));

function summaryOf(row: SagaRow): SagaSummary {
  return {
    id: row.id,
    name: row.name,
    input: row.input,
    status: row.status,
    error: row.error,
    deadline: new Date(row.deadline),
    owner: row.owner,
    leaseUntil: toDate(row.lease_until),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    finishedAt: toDate(row.finished_at),
  };
}

function stepOf(row: StepRow): SagaStepRecord {
  return {
    index: row.step_index,
    name: row.step_name,
    local: row.local,
    invokeStatus: row.invoke_status,
    invokeAttempts: row.invoke_attempts,
    result: row.result,
    invokeError: row.invoke_error,
    invokedAt: toDate(row.invoked_at),
    compensateStatus: row.compensate_status,
    compensateAttempts: row.compensate_attempts,
    compensateError: row.compensate_error,
    compensatedAt: toDate(row.compensated_at),
  };
}

const json = (value: unknown): string => JSON.stringify(value === undefined ? null : value);

export const leaseLostReason = 'SAGA_LEASE_LOST';

/** The columns one transition of a step sets (besides updated_at). */
export type StepChange = RawBuilder<unknown>;

/** Every transition of a step's row, for `SagaLog.updateStep` and the transaction-bound writers. */
export const stepChanges = {
  invokeStarted: (attempts: number): StepChange => sql`invoke_status = 'started', invoke_attempts = ${attempts}`,
  invokeDone: (attempts: number, result: unknown, now: Date): StepChange =>
    sql`invoke_status = 'done', invoke_attempts = ${attempts}, result = ${json(result)}::jsonb, invoke_error = null, invoked_at = ${now}`,
  invokeFailed: (attempts: number, error: SagaErrorRecord): StepChange => sql`invoke_status = 'failed', invoke_attempts = ${attempts}, invoke_error = ${json(error)}::jsonb`,
  compensateStarted: (attempts: number): StepChange => sql`compensate_status = 'started', compensate_attempts = ${attempts}`,
  compensateDone: (attempts: number, now: Date): StepChange =>
    sql`compensate_status = 'done', compensate_attempts = ${attempts}, compensate_error = null, compensated_at = ${now}`,
  compensateFailed: (attempts: number, error: SagaErrorRecord): StepChange =>
    sql`compensate_status = 'failed', compensate_attempts = ${attempts}, compensate_error = ${json(error)}::jsonb`,
};

/**
 * The saga tables of one service schema. Every write after the start goes through `write`, which
 * first renews the lease of the instance that drives the saga and fails when that instance no
 * longer owns it: a runner whose lease ran out and was taken over cannot overwrite its successor.
 */
export class SagaLog {
  readonly #database: ServiceDatabase;
  readonly #db: Kysely<any>;
  // Schema-qualified names: on the shared PGlite session a statement that names its schema
  // needs no search_path switch (libs/storage), and a saga step is written between other
  // services' statements all the time.
  readonly #saga: RawBuilder<unknown>;
  readonly #steps: RawBuilder<unknown>;

  constructor(database: ServiceDatabase) {
    this.#database = database;
    this.#db = database.db;
    this.#saga = database.table('saga');
    this.#steps = database.table('saga_step');
  }

  /**
   * Records a new saga with all its steps pending, owned by `owner`. False when the id exists.
   * One statement (the steps' insert reads the saga's): on PGlite every statement, BEGIN and
   * COMMIT included, is a turn of the single session.
   */
  async insert(saga: { id: string; name: string; input: unknown; deadline: Date; steps: ReadonlyArray<{ name: string; local: boolean }> }, owner: string, leaseUntil: Date, now: Date): Promise<boolean> {
    const steps = saga.steps.map((step, index) => sql`(${index}::int, ${step.name}::text, ${step.local}::boolean)`);
    const inserted = await sql`
      with new_saga as (
        insert into ${this.#saga} (id, name, input, status, deadline, owner, lease_until, created_at, updated_at)
        values (${saga.id}::uuid, ${saga.name}, ${json(saga.input)}::jsonb, 'running', ${saga.deadline}, ${owner}, ${leaseUntil}, ${now}, ${now})
        on conflict (id) do nothing
        returning id)
      insert into ${this.#steps} (saga_id, step_index, step_name, local, updated_at)
      select new_saga.id, step.step_index, step.step_name, step.local, ${now}
      from new_saga cross join (values ${sql.join(steps)}) as step (step_index, step_name, local)`.execute(this.#db);
    return Number(inserted.numAffectedRows ?? 0) > 0;
  }

  /**
   * Takes unfinished sagas for `owner`: those nobody holds, whose lease ran out, or that `owner`
   * itself held before a restart (unless in `exclude`, the ones it is driving now). SKIP LOCKED
   * lets several instances claim at once without waiting on each other; the WHERE clause is
   * checked again on a row another instance changed meanwhile, so no saga goes to two owners.
   */
  async claim(options: { names: readonly string[]; owner: string; now: Date; leaseUntil: Date; exclude: readonly string[]; limit: number; id?: string }): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`
      update ${this.#saga} set owner = ${options.owner}, lease_until = ${options.leaseUntil}, updated_at = ${options.now}
      where id in (
        select id from ${this.#saga}
        where status in ('running', 'compensating')
          and name = any(${[...options.names]}::text[])
          and (owner is null or owner = ${options.owner} or lease_until < ${options.now})
          and not (id = any(${[...options.exclude]}::uuid[]))
          ${options.id === undefined ? sql`` : sql`and id = ${options.id}::uuid`}
        order by id
        limit ${options.limit}
        for update skip locked)
      returning id`.execute(this.#db);
    return rows.map((row) => row.id);
  }

  async load(id: string, db: Kysely<any> = this.#db): Promise<SagaRecord | undefined> {
    const { rows } = await sql<SagaRow>`select * from ${this.#saga} where id = ${id}::uuid`.execute(db);
    const row = rows[0];
    if (row === undefined) return undefined;
    const { rows: steps } = await sql<StepRow>`select * from ${this.#steps} where saga_id = ${id}::uuid order by step_index`.execute(db);
    return { ...summaryOf(row), steps: steps.map(stepOf) };
  }

  /** Newest first; `before` is the last id of the previous page. */
  async list(options: { status?: SagaStatus; name?: string; limit: number; before?: string }): Promise<SagaSummary[]> {
    const { rows } = await sql<SagaRow>`
      select * from ${this.#saga}
      where true
        ${options.status === undefined ? sql`` : sql`and status = ${options.status}`}
        ${options.name === undefined ? sql`` : sql`and name = ${options.name}`}
        ${options.before === undefined ? sql`` : sql`and id < ${options.before}::uuid`}
      order by id desc
      limit ${options.limit}`.execute(this.#db);
    return rows.map(summaryOf);
  }

  /** Renews the lease and runs `work` in one transaction; throws Aborted(SAGA_LEASE_LOST) when `owner` lost the saga. */
  async write<T>(id: string, owner: string, now: Date, leaseUntil: Date, work: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    return await this.#database.transaction(async (trx) => {
      const renewed = await sql`
        update ${this.#saga} set lease_until = ${leaseUntil}, updated_at = ${now} where id = ${id}::uuid and owner = ${owner}`.execute(trx);
      if (Number(renewed.numAffectedRows ?? 0) === 0) {
        throw this.#leaseLost({ id, owner });
      }
      return await work(trx);
    });
  }

  /** Heartbeat between writes (a long remote call); false when the saga was taken over. */
  async renew(id: string, owner: string, leaseUntil: Date): Promise<boolean> {
    const result = await sql`update ${this.#saga} set lease_until = ${leaseUntil} where id = ${id}::uuid and owner = ${owner}`.execute(this.#db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  /** Lets another instance take the saga at once (a clean stop), instead of after the lease. */
  async release(id: string, owner: string): Promise<void> {
    await sql`update ${this.#saga} set owner = null, lease_until = null where id = ${id}::uuid and owner = ${owner}`.execute(this.#db);
  }

  /** The service's database, for what a planned step reads before it writes. */
  get db(): Kysely<any> {
    return this.#db;
  }

  /** Runs `work` in one transaction of the saga's database (a local step and its record). */
  async transaction<T>(work: (trx: Transaction<any>) => Promise<T>): Promise<T> {
    return await this.#database.transaction(work);
  }

  /**
   * Changes one step's row and renews the lease in one statement, only while `owner` holds the
   * saga; throws Aborted(SAGA_LEASE_LOST) otherwise. Outside a transaction (the record of a
   * remote call) it is atomic on its own: one statement instead of BEGIN, lease, step, COMMIT.
   * Inside one (a local step) it comes after the step's own work, so the saga row is locked
   * last and held the shortest time.
   */
  async updateStep(db: Kysely<any> | undefined, lease: { id: string; owner: string; leaseUntil: Date }, index: number, change: StepChange, now: Date): Promise<void> {
    await this.updateSteps(db, lease, [{ index, change }], now);
  }

  /**
   * updateStep for several steps in one statement (a remote step's "done" and the next remote
   * step's "started"): all of them or, when `owner` lost the saga, none.
   */
  async updateSteps(db: Kysely<any> | undefined, lease: { id: string; owner: string; leaseUntil: Date }, changes: ReadonlyArray<{ index: number; change: StepChange }>, now: Date): Promise<void> {
    const statement = this.#stepsStatement(lease, changes, now);
    if (statement === undefined) return;
    const updated = await statement.execute(db ?? this.#db);
    if (Number(updated.numAffectedRows ?? 0) === 0) throw this.#leaseLost(lease);
  }

  /**
   * A planned local step's writes and its record (with the lease renewal), and, when it was the
   * last step, the saga's end, as one batch: all of them or, when a guard fails or `owner` lost
   * the saga, none.
   */
  async batch(
    writes: readonly BatchStatement[],
    lease: { id: string; owner: string; leaseUntil: Date },
    changes: ReadonlyArray<{ index: number; change: StepChange }>,
    now: Date,
    end?: 'completed',
  ): Promise<void> {
    const record = this.#stepsStatement(lease, changes, now)!;
    const lost = () => this.#leaseLost(lease);
    await this.#database.batch([
      ...writes,
      { query: record.compile(this.#db), orElse: lost },
      ...(end === undefined ? [] : [{ query: this.#finishStatement(lease, end, now).compile(this.#db), orElse: lost }]),
    ]);
  }

  #leaseLost(lease: { id: string; owner: string }): Error {
    return Aborted(leaseLostReason, `saga ${lease.id} is no longer driven by ${lease.owner}`, { sagaId: lease.id, owner: lease.owner });
  }

  #stepsStatement(lease: { id: string; owner: string; leaseUntil: Date }, changes: ReadonlyArray<{ index: number; change: StepChange }>, now: Date): RawBuilder<unknown> | undefined {
    const [last, ...others] = [...changes].reverse();
    if (last === undefined) return undefined;
    // Each earlier change is a CTE of its own: a statement may change several rows of one table
    // from several CTEs, as long as no row twice.
    const earlier = others.map(
      ({ index, change }, position) => sql`, ${sql.id(`step_${position}`)} as (
        update ${this.#steps} set ${change}, updated_at = ${now}
        where saga_id = (select id from lease) and step_index = ${index})`,
    );
    return sql`
      with lease as (
        update ${this.#saga} set lease_until = ${lease.leaseUntil}, updated_at = ${now}
        where id = ${lease.id}::uuid and owner = ${lease.owner}
        returning id)${sql.join(earlier, sql``)}
      update ${this.#steps} set ${last.change}, updated_at = ${now}
      where saga_id = (select id from lease) and step_index = ${last.index}`;
  }

  /**
   * Ends a saga `completed` or `compensated` (steps never undone marked not_needed) in one
   * statement, only while `owner` holds it; throws Aborted(SAGA_LEASE_LOST) otherwise.
   */
  async finish(lease: { id: string; owner: string }, status: 'completed' | 'compensated', now: Date, error?: SagaErrorRecord): Promise<void> {
    const { rows } = await this.#finishStatement(lease, status, now, error).execute(this.#db);
    if (rows.length === 0) throw this.#leaseLost(lease);
  }

  /** The saga's end and its untouched steps marked not_needed; answers the saga's id, no row when `owner` lost it. */
  #finishStatement(lease: { id: string; owner: string }, status: 'completed' | 'compensated', now: Date, error?: SagaErrorRecord): RawBuilder<{ id: string }> {
    return sql<{ id: string }>`
      with finished as (
        update ${this.#saga} set status = ${status}, updated_at = ${now}, finished_at = ${now}, owner = null, lease_until = null
          ${error === undefined ? sql`` : sql`, error = ${json(error)}::jsonb`}
        where id = ${lease.id}::uuid and owner = ${lease.owner}
        returning id),
      untouched as (
        update ${this.#steps} set compensate_status = 'not_needed', updated_at = ${now}
        where saga_id = (select id from finished) and compensate_status = 'pending')
      select id from finished`;
  }

  async invokeStarted(trx: Transaction<any>, id: string, index: number, attempts: number, now: Date): Promise<void> {
    await this.#stepUpdate(trx, id, index, stepChanges.invokeStarted(attempts), now);
  }

  async invokeDone(trx: Transaction<any>, id: string, index: number, attempts: number, result: unknown, now: Date): Promise<void> {
    await this.#stepUpdate(trx, id, index, stepChanges.invokeDone(attempts, result, now), now);
  }

  async invokeFailed(trx: Transaction<any>, id: string, index: number, attempts: number, error: SagaErrorRecord, now: Date): Promise<void> {
    await this.#stepUpdate(trx, id, index, stepChanges.invokeFailed(attempts, error), now);
  }

  async compensateStarted(trx: Transaction<any>, id: string, index: number, attempts: number, now: Date): Promise<void> {
    await this.#stepUpdate(trx, id, index, stepChanges.compensateStarted(attempts), now);
  }

  async compensateDone(trx: Transaction<any>, id: string, index: number, attempts: number, now: Date): Promise<void> {
    await this.#stepUpdate(trx, id, index, stepChanges.compensateDone(attempts, now), now);
  }

  async compensateFailed(trx: Transaction<any>, id: string, index: number, attempts: number, error: SagaErrorRecord, now: Date): Promise<void> {
    await this.#stepUpdate(trx, id, index, stepChanges.compensateFailed(attempts, error), now);
  }

  async #stepUpdate(trx: Transaction<any>, id: string, index: number, change: StepChange, now: Date): Promise<void> {
    await sql`update ${this.#steps} set ${change}, updated_at = ${now} where saga_id = ${id}::uuid and step_index = ${index}`.execute(trx);
  }

  async setStatus(trx: Transaction<any>, id: string, status: SagaStatus, now: Date, error?: SagaErrorRecord): Promise<void> {
    const finished = status === 'completed' || status === 'compensated' || status === 'failed';
    await sql`
      update ${this.#saga} set status = ${status}, updated_at = ${now}
        ${error === undefined ? sql`` : sql`, error = ${json(error)}::jsonb`}
        ${finished ? sql`, finished_at = ${now}, owner = null, lease_until = null` : sql``}
      where id = ${id}::uuid`.execute(trx);
    if (status === 'completed' || status === 'compensated') {
      // Steps that never needed undoing say so, rather than looking like pending work.
      await sql`
        update ${this.#steps} set compensate_status = 'not_needed', updated_at = ${now}
        where saga_id = ${id}::uuid and compensate_status = 'pending'`.execute(trx);
    }
  }

  /**
   * An operator's retry of a `failed` saga: back to compensating, owned by `owner`, each failed
   * compensation with a fresh attempt budget. False when the saga is not `failed`.
   */
  async rearm(id: string, owner: string, now: Date, leaseUntil: Date): Promise<boolean> {
    return await this.#database.transaction(async (trx) => {
      const result = await sql`
        update ${this.#saga} set status = 'compensating', finished_at = null, owner = ${owner}, lease_until = ${leaseUntil}, updated_at = ${now}
        where id = ${id}::uuid and status = 'failed'`.execute(trx);
      if (Number(result.numAffectedRows ?? 0) === 0) return false;
      await sql`
        update ${this.#steps} set compensate_attempts = 0, updated_at = ${now}
        where saga_id = ${id}::uuid and compensate_status in ('failed', 'started')`.execute(trx);
      return true;
    });
  }
}
