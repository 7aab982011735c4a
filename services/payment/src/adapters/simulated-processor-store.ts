import { sql, type Kysely, type Transaction } from 'kysely';

/** A payment intent as the simulated processor keeps it. */
export interface ProcessorIntent {
  id: string;
  /** `hold`: a manual-capture authorisation; `charge`: captured at once (what a trip cost above its hold). */
  kind: 'hold' | 'charge';
  reference: string;
  cardToken: string;
  currency: string;
  amountCents: number;
  capturedCents: number;
  refundedCents: number;
  status: 'requires_capture' | 'succeeded' | 'canceled';
}

/** An error as remembered with its key: rebuilt into the same AppError when the key comes again. */
export interface RememberedError {
  code: string;
  reason: string;
  message: string;
  details: Record<string, unknown>;
}

export type ProcessorOutcome = { ok: true; value: unknown } | { ok: false; error: RememberedError };

export interface RememberedAnswer {
  /** The operation and its parameters, as the key's first call sent them. */
  fingerprint: string;
  outcome: ProcessorOutcome;
}

/** What one call may read and change while it holds its key. */
export interface ProcessorCall {
  /** The intent, locked for the rest of the call (two calls on one intent queue up). */
  intent(id: string): Promise<ProcessorIntent | undefined>;
  save(intent: ProcessorIntent): Promise<void>;
}

/**
 * Where the simulated processor keeps its intents and the first answer to every idempotency key.
 * A real processor's state outlives our processes; so must this one's, except in unit tests.
 */
export interface ProcessorStore {
  /**
   * The key's remembered answer, or, if the key is new, `work`'s outcome, remembered together
   * with every intent it saved (all or nothing: a crash before the end leaves no trace, as a
   * request that never reached the processor). Calls with one key run one at a time.
   */
  once(key: string, fingerprint: string, work: (call: ProcessorCall) => Promise<ProcessorOutcome>): Promise<RememberedAnswer>;
  intent(id: string): Promise<ProcessorIntent | undefined>;
  /** Every intent in id order, a page at a time: what an invariant check reads. */
  listIntents(page: { afterId?: string | undefined; limit: number }): Promise<ProcessorIntent[]>;
}

/**
 * A call whose saves are kept aside until its answer is remembered with them: it reads its own
 * saves first, then what `read` finds in the store.
 */
function stagedCall(read: (id: string) => Promise<ProcessorIntent | undefined>): { call: ProcessorCall; staged: ReadonlyMap<string, ProcessorIntent> } {
  const staged = new Map<string, ProcessorIntent>();
  const call: ProcessorCall = {
    intent: async (id) => {
      const saved = staged.get(id);
      return saved ? { ...saved } : await read(id);
    },
    save: async (intent) => void staged.set(intent.id, { ...intent }),
  };
  return { call, staged };
}

/** The processor's state in this process only: for unit tests, gone with the process. */
export class MemoryProcessorStore implements ProcessorStore {
  readonly #intents = new Map<string, ProcessorIntent>();
  readonly #answers = new Map<string, RememberedAnswer>();
  // One call at a time: enough for tests, and what makes a call all-or-nothing here.
  #queue: Promise<unknown> = Promise.resolve();

  once(key: string, fingerprint: string, work: (call: ProcessorCall) => Promise<ProcessorOutcome>): Promise<RememberedAnswer> {
    const run = this.#queue.then(async () => {
      const remembered = this.#answers.get(key);
      if (remembered) return remembered;
      const { call, staged } = stagedCall((id) => this.intent(id));
      const outcome = await work(call);
      for (const intent of staged.values()) this.#intents.set(intent.id, intent);
      const answer = { fingerprint, outcome };
      this.#answers.set(key, answer);
      return answer;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async intent(id: string): Promise<ProcessorIntent | undefined> {
    const intent = this.#intents.get(id);
    return intent && { ...intent };
  }

  async listIntents(page: { afterId?: string | undefined; limit: number }): Promise<ProcessorIntent[]> {
    return [...this.#intents.values()]
      .filter((intent) => page.afterId === undefined || intent.id > page.afterId)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, page.limit)
      .map((intent) => ({ ...intent }));
  }
}

/** The schema the simulated processor's tables live in unless config names another. */
export const simulatedProcessorSchema = 'simulated_processor';

interface IntentRow {
  id: string;
  kind: ProcessorIntent['kind'];
  reference: string;
  card_token: string;
  currency: string;
  amount_cents: number;
  captured_cents: number;
  refunded_cents: number;
  status: ProcessorIntent['status'];
}

function intentOf(row: IntentRow): ProcessorIntent {
  return {
    id: row.id,
    kind: row.kind,
    reference: row.reference,
    cardToken: row.card_token,
    currency: row.currency,
    amountCents: Number(row.amount_cents),
    capturedCents: Number(row.captured_cents),
    refundedCents: Number(row.refunded_cents),
    status: row.status,
  };
}

/**
 * The processor's state in tables of its own schema (never the payment service's, whose
 * migrations, backups and drops must not reach another company's books; ADR 0027). One
 * transaction per call: claiming the key's row makes a repeated key wait for the first call
 * and then read its answer, a row lock makes two calls on one intent queue up, and the answer is
 * committed with the intents it changed, so a crash mid-call leaves nothing half done. Holds on
 * PostgreSQL across any number of payment instances, and on PGlite (one session, one call at a
 * time).
 */
export class SqlProcessorStore implements ProcessorStore {
  readonly #db: Kysely<any>;
  readonly #schema: string;

  constructor(db: Kysely<any>, schema: string = simulatedProcessorSchema) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new RangeError(`not a schema name: ${schema}`);
    this.#db = db;
    this.#schema = schema;
  }

  #table(name: 'intents' | 'idempotency_keys') {
    return sql.table(`${this.#schema}.${name}`);
  }

  /** Creates the schema and tables if missing; instances starting together take turns. */
  async prepare(): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${`ddl:${this.#schema}`}))`.execute(trx);
      await sql`create schema if not exists ${sql.id(this.#schema)}`.execute(trx);
      await sql`
        create table if not exists ${this.#table('intents')} (
          id text primary key,
          kind text not null check (kind in ('hold', 'charge')),
          reference text not null,
          card_token text not null,
          currency char(3) not null,
          amount_cents integer not null check (amount_cents > 0),
          captured_cents integer not null default 0 check (captured_cents >= 0 and captured_cents <= amount_cents),
          refunded_cents integer not null default 0 check (refunded_cents >= 0 and refunded_cents <= captured_cents),
          status text not null check (status in ('requires_capture', 'succeeded', 'canceled')),
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now()
        )`.execute(trx);
      await sql`create index if not exists intents_reference on ${this.#table('intents')} (reference)`.execute(trx);
      await sql`
        create table if not exists ${this.#table('idempotency_keys')} (
          key text primary key,
          fingerprint text not null,
          outcome jsonb not null,
          created_at timestamptz not null default now()
        )`.execute(trx);
    });
  }

  once(key: string, fingerprint: string, work: (call: ProcessorCall) => Promise<ProcessorOutcome>): Promise<RememberedAnswer> {
    return this.#db.transaction().execute(async (trx) => {
      // The key is claimed first: a second call with it waits on the key's row (PostgreSQL's unique
      // index; on PGlite the one session) until the first call ends, then finds its answer; if
      // the first rolled back, the second claims it. The answer replaces the placeholder below,
      // in the same transaction, so nobody ever reads the placeholder.
      const claimed = await sql<{ key: string }>`
        insert into ${this.#table('idempotency_keys')} (key, fingerprint, outcome)
        values (${key}, ${fingerprint}, 'null'::jsonb)
        on conflict (key) do nothing
        returning key`.execute(trx);
      if (claimed.rows.length === 0) {
        const found = await sql<{ fingerprint: string; outcome: ProcessorOutcome | string }>`
          select fingerprint, outcome from ${this.#table('idempotency_keys')} where key = ${key}`.execute(trx);
        const row = found.rows[0];
        if (!row) throw new Error(`idempotency key ${key} was claimed and then vanished`);
        return { fingerprint: row.fingerprint, outcome: typeof row.outcome === 'string' ? (JSON.parse(row.outcome) as ProcessorOutcome) : row.outcome };
      }
      // Saved intents are written with the answer in one statement at the end: each statement
      // inside a transaction holds the embedded session for a round trip across threads.
      const { call, staged } = stagedCall((id) => this.#lockIntent(trx, id));
      const outcome = await work(call);
      await this.#remember(trx, key, outcome, [...staged.values()]);
      return { fingerprint, outcome };
    });
  }

  async #lockIntent(trx: Transaction<any>, id: string): Promise<ProcessorIntent | undefined> {
    const found = await sql<IntentRow>`select * from ${this.#table('intents')} where id = ${id} for update`.execute(trx);
    return found.rows[0] && intentOf(found.rows[0]);
  }

  async #remember(trx: Transaction<any>, key: string, outcome: ProcessorOutcome, intents: readonly ProcessorIntent[]): Promise<void> {
    await sql`
      with saved as (
        insert into ${this.#table('intents')} (id, kind, reference, card_token, currency, amount_cents, captured_cents, refunded_cents, status)
        select r.id, r.kind, r.reference, r."cardToken", r.currency, r."amountCents", r."capturedCents", r."refundedCents", r.status
        from jsonb_to_recordset(${JSON.stringify(intents)}::jsonb)
          as r(id text, kind text, reference text, "cardToken" text, currency text, "amountCents" integer, "capturedCents" integer, "refundedCents" integer, status text)
        on conflict (id) do update set
          captured_cents = excluded.captured_cents,
          refunded_cents = excluded.refunded_cents,
          status = excluded.status,
          updated_at = now()
      )
      update ${this.#table('idempotency_keys')} set outcome = ${JSON.stringify(outcome)}::jsonb where key = ${key}`.execute(trx);
  }

  async intent(id: string): Promise<ProcessorIntent | undefined> {
    const found = await sql<IntentRow>`select * from ${this.#table('intents')} where id = ${id}`.execute(this.#db);
    return found.rows[0] && intentOf(found.rows[0]);
  }

  async listIntents(page: { afterId?: string | undefined; limit: number }): Promise<ProcessorIntent[]> {
    const found = await sql<IntentRow>`
      select * from ${this.#table('intents')}
      where ${page.afterId === undefined ? sql`true` : sql`id > ${page.afterId}`}
      order by id limit ${page.limit}`.execute(this.#db);
    return found.rows.map(intentOf);
  }
}

/** Every intent of a store, page by page. */
export async function allProcessorIntents(store: Pick<ProcessorStore, 'listIntents'>, pageSize = 500): Promise<ProcessorIntent[]> {
  const intents: ProcessorIntent[] = [];
  for (;;) {
    const page = await store.listIntents({ afterId: intents.at(-1)?.id, limit: pageSize });
    intents.push(...page);
    if (page.length < pageSize) return intents;
  }
}
