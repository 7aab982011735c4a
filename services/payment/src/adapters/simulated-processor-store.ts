import type { ServiceDatabase } from '@carshare/storage';
import { sql, type Kysely } from 'kysely';

/** How often a call decides again after losing a race for an intent, before it gives up. */
const maxDecisions = 10;

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
  /** This call's `work` gave the answer (not an earlier call with the key). */
  answeredNow: boolean;
}

/** What one call may read and change while it holds its key. */
export interface ProcessorCall {
  /** The intent as the store has it (or as this call saved it); a save of it lands only if nobody changed it meanwhile. */
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
   * request that never reached the processor). A key has one answer: a call with a key that was
   * answered meanwhile gets that answer, and `work` may run again when it lost a race for an intent.
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
function stagedCall(read: (id: string) => Promise<ProcessorIntent | undefined>): {
  call: ProcessorCall;
  staged: ReadonlyMap<string, ProcessorIntent>;
  /** Each intent as the store had it when the call first read it (undefined: not there). */
  seen: ReadonlyMap<string, ProcessorIntent | undefined>;
} {
  const staged = new Map<string, ProcessorIntent>();
  const seen = new Map<string, ProcessorIntent | undefined>();
  const call: ProcessorCall = {
    intent: async (id) => {
      const saved = staged.get(id);
      if (saved) return { ...saved };
      if (seen.has(id)) return seen.get(id) && { ...seen.get(id)! };
      const found = await read(id);
      seen.set(id, found && { ...found });
      return found;
    },
    save: async (intent) => void staged.set(intent.id, { ...intent }),
  };
  return { call, staged, seen };
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
      this.#answers.set(key, { fingerprint, outcome, answeredNow: false });
      return { fingerprint, outcome, answeredNow: true };
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
 * migrations, backups and drops must not reach another company's books; ADR 0027). A call reads
 * what it needs, decides, and writes its answer with the intents it changed in one batch
 * (ServiceDatabase.batch): the key's row goes in only if no other call answered the key, and
 * each intent changes only if it is still as the call read it. When either is not so, nothing of
 * the call is written: a repeated key then reads the first call's answer, and a call that lost a
 * race for an intent decides again on what is there now. So a crash mid-call leaves nothing half
 * done, and this holds across any number of payment instances on PostgreSQL and on PGlite.
 */
export class SqlProcessorStore implements ProcessorStore {
  readonly #database: ServiceDatabase;
  readonly #db: Kysely<any>;
  readonly #schema: string;

  /** `database`: the calling service's (the tables are in `schema`, named in every statement). */
  constructor(database: ServiceDatabase, schema: string = simulatedProcessorSchema) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new RangeError(`not a schema name: ${schema}`);
    this.#database = database;
    this.#db = database.db;
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

  async once(key: string, fingerprint: string, work: (call: ProcessorCall) => Promise<ProcessorOutcome>): Promise<RememberedAnswer> {
    const keyAnswered = new Error(`idempotency key ${key} was answered meanwhile`);
    const intentMoved = new Error(`an intent changed while key ${key} was being answered`);
    // The key is not looked up first: almost every call brings a new one, and a repeat is found
    // when its answer is refused a second row (and then read).
    for (let attempt = 1; ; attempt += 1) {
      const { call, staged, seen } = stagedCall((id) => this.intent(id));
      const outcome = await work(call);
      try {
        await this.#database.batch([
          {
            query: sql`insert into ${this.#table('idempotency_keys')} (key, fingerprint, outcome) values (${key}, ${fingerprint}, ${JSON.stringify(outcome)}::jsonb) on conflict (key) do nothing`.compile(this.#db),
            orElse: () => keyAnswered,
          },
          ...[...staged.values()].map((intent) => ({ query: this.#saveIfUnchanged(intent, seen.get(intent.id)).compile(this.#db), orElse: () => intentMoved })),
        ]);
        return { fingerprint, outcome, answeredNow: true };
      } catch (error) {
        if (error === keyAnswered) {
          const remembered = await this.#answerOf(key);
          if (remembered) return remembered;
          continue;
        }
        // Another key's call changed an intent this one read: decide again on what is there now,
        // as a processor's lock on the intent would have made this call wait for that one.
        if (error !== intentMoved || attempt >= maxDecisions) throw error;
      }
    }
  }

  async #answerOf(key: string): Promise<RememberedAnswer | undefined> {
    const found = await sql<{ fingerprint: string; outcome: ProcessorOutcome | string }>`
      select fingerprint, outcome from ${this.#table('idempotency_keys')} where key = ${key}`.execute(this.#db);
    const row = found.rows[0];
    return row && { fingerprint: row.fingerprint, outcome: typeof row.outcome === 'string' ? (JSON.parse(row.outcome) as ProcessorOutcome) : row.outcome, answeredNow: false };
  }

  /** Writes `intent`, a new one only if its id is free, one read before only if it is still as `seen`. */
  #saveIfUnchanged(intent: ProcessorIntent, seen: ProcessorIntent | undefined) {
    if (seen === undefined) {
      return sql`
        insert into ${this.#table('intents')} (id, kind, reference, card_token, currency, amount_cents, captured_cents, refunded_cents, status)
        values (${intent.id}, ${intent.kind}, ${intent.reference}, ${intent.cardToken}, ${intent.currency}, ${intent.amountCents}, ${intent.capturedCents}, ${intent.refundedCents}, ${intent.status})
        on conflict (id) do nothing`;
    }
    return sql`
      update ${this.#table('intents')} set captured_cents = ${intent.capturedCents}, refunded_cents = ${intent.refundedCents}, status = ${intent.status}, updated_at = now()
      where id = ${intent.id} and status = ${seen.status} and captured_cents = ${seen.capturedCents} and refunded_cents = ${seen.refundedCents}`;
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
