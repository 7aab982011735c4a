/**
 * The books and the fleet after any number of crashes (issue 14, acceptance 3), read through the
 * operator API of a running platform, so the same check runs after the crash test and against
 * `carshare up` or a deployment (`scripts/check-trip-invariants.ts`):
 *
 * 1. no car `in_use` (nor `unlocking`/`locking`) without a live trip on it;
 * 2. no open authorisation (payment `authorized`) without a live trip behind it;
 * 3. every finished trip captured exactly once: its payment `captured` (or refunded after), the
 *    captured amount its price, one payment per trip, the payment's ledger lines agreeing with it;
 * 4. the ledger sums to zero, movement by movement (payment `CheckLedger`).
 *
 * Rules 2 and 3 are checked in our books and, given a `processor` reader, at the card processor
 * too: our books could agree with themselves while the processor still holds a rider's money or
 * charged twice. There: no intent `requires_capture` without a live trip behind its reference,
 * and every finished trip's intents capture its price exactly (one captured hold, at most one
 * extra charge).
 *
 * "Live" is `starting`, `in_progress`, `paused` or `finishing`. A platform at work has cars and
 * holds between states for a moment: `confirm` checks again after a pause and keeps only what
 * is still wrong, by the same subject.
 */

export type InvariantRule = 'car_in_use_without_trip' | 'open_hold_without_trip' | 'finished_trip_not_captured_once' | 'ledger_unbalanced';

export interface InvariantViolation {
  rule: InvariantRule;
  /** The car, payment, trip or movement id. */
  subject: string;
  message: string;
}

export interface InvariantReport {
  ok: boolean;
  violations: InvariantViolation[];
  /** What was looked at, so "ok" is never the result of reading nothing. */
  counts: { carsHeld: number; liveTrips: number; finishedTrips: number; openHolds: number; payments: number; ledgerMovements: number; processorIntents?: number };
}

/** A payment intent as the processor reports it (the simulated processor's `ProcessorIntent`). */
export interface ProcessorIntentRow {
  id: string;
  kind: 'hold' | 'charge';
  reference: string;
  amountCents: number;
  capturedCents: number;
  status: 'requires_capture' | 'succeeded' | 'canceled';
}

/** The processor's own record of every intent: its dashboard, or the simulated one's store. */
export interface ProcessorReader {
  intents(): Promise<ProcessorIntentRow[]>;
}

interface TripRow {
  id: string;
  carId: string;
  status: string;
  paymentId: string | null;
  paymentStatus?: string | null;
  totalCents?: number | null;
}

interface PaymentRow {
  id: string;
  reference: string;
  status: string;
  capturedCents: number;
  refundedCents: number;
}

interface LedgerReport {
  balanced: boolean;
  movements: number;
  totalCents: number;
  unbalancedMovementIds: string[];
  mismatchedPaymentIds: string[];
}

export const liveTripStatuses = ['starting', 'in_progress', 'paused', 'finishing'] as const;
/** Car states in which a car is held by a trip's device dance or drive. */
const heldCarStates = ['unlocking', 'in_use', 'locking'] as const;

export interface OperatorApi {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
}

/** The operator API over fetch, logged in with the operator's email and password (or a token). */
export async function operatorApi(options: { apiUrl: string; token?: string; email?: string; password?: string; timeoutMs?: number }): Promise<OperatorApi> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let token = options.token;
  if (!token) {
    const answer = await fetch(new URL('/v1/auth/login', options.apiUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: options.email, password: options.password }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await answer.json()) as { tokens?: { accessToken?: string } };
    if (answer.status !== 200 || !body.tokens?.accessToken) throw new Error(`cannot log in as ${options.email ?? '(no email)'} at ${options.apiUrl}: ${answer.status}`);
    token = body.tokens.accessToken;
  }
  const bearer = token;
  return {
    async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
      const url = new URL(path, options.apiUrl);
      for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
      const answer = await fetch(url, { headers: { authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(timeoutMs) });
      const text = await answer.text();
      if (answer.status !== 200) throw new Error(`GET ${url.pathname}${url.search} answered ${answer.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text) as T;
    },
  };
}

/** Every item of a cursor-paginated operator list. */
async function everything<T>(api: OperatorApi, path: string, query: Record<string, string | number | undefined> = {}): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<{ items: T[]; nextCursor: string | null }>(path, { ...query, limit: 100, cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** One reading of the four rules. */
export async function readTripInvariants(api: OperatorApi, processor?: ProcessorReader): Promise<InvariantReport> {
  const violations: InvariantViolation[] = [];
  const liveTrips = (await Promise.all(liveTripStatuses.map((status) => everything<TripRow>(api, '/v1/admin/trips', { status })))).flat();
  const heldCars = (await Promise.all(heldCarStates.map((state) => everything<{ id: string; state: string }>(api, '/v1/admin/cars', { state })))).flat();
  const finishedTrips = await everything<TripRow>(api, '/v1/admin/trips', { status: 'finished' });
  const payments = await everything<PaymentRow>(api, '/v1/admin/payments');
  const ledger = await api.get<LedgerReport>('/v1/admin/ledger/check');
  // Read last: an intent our books show is already at the processor when it is read.
  const intents = processor ? await processor.intents() : undefined;

  // Rule 1: a car the fleet shows as held has a live trip on it.
  const liveCars = new Set(liveTrips.map((trip) => trip.carId));
  for (const car of heldCars) {
    if (!liveCars.has(car.id)) violations.push({ rule: 'car_in_use_without_trip', subject: car.id, message: `car ${car.id} is ${car.state} with no live trip on it` });
  }

  // Rule 2: an open hold belongs to a live trip (its reference is the trip id).
  const liveTripIds = new Set(liveTrips.map((trip) => trip.id));
  const openHolds = payments.filter((payment) => payment.status === 'authorized');
  for (const hold of openHolds) {
    if (!liveTripIds.has(hold.reference)) {
      violations.push({ rule: 'open_hold_without_trip', subject: hold.id, message: `payment ${hold.id} holds money for ${hold.reference}, which is not a live trip` });
    }
  }

  // Rule 2 at the processor: its open holds, whatever our books say of them.
  for (const intent of intents ?? []) {
    if (intent.status === 'requires_capture' && !liveTripIds.has(intent.reference)) {
      violations.push({
        rule: 'open_hold_without_trip',
        subject: intent.id,
        message: `the processor holds ${intent.amountCents} cents in ${intent.id} for ${intent.reference}, which is not a live trip`,
      });
    }
  }
  const intentsByReference = new Map<string, ProcessorIntentRow[]>();
  for (const intent of intents ?? []) intentsByReference.set(intent.reference, [...(intentsByReference.get(intent.reference) ?? []), intent]);

  // Rule 3: a finished trip was charged once, what it cost.
  const byReference = new Map<string, PaymentRow[]>();
  for (const payment of payments) byReference.set(payment.reference, [...(byReference.get(payment.reference) ?? []), payment]);
  const mismatched = new Set(ledger.mismatchedPaymentIds);
  for (const trip of finishedTrips) {
    const own = byReference.get(trip.id) ?? [];
    const fail = (message: string) => violations.push({ rule: 'finished_trip_not_captured_once', subject: trip.id, message: `finished trip ${trip.id}: ${message}` });
    if (own.length !== 1) {
      fail(`${own.length} payments carry its reference, not 1`);
      continue;
    }
    const payment = own[0] as PaymentRow;
    if (!['captured', 'partially_refunded', 'refunded'].includes(payment.status)) fail(`its payment ${payment.id} is ${payment.status}, not captured`);
    else if (typeof trip.totalCents === 'number' && payment.capturedCents !== trip.totalCents) fail(`captured ${payment.capturedCents} cents for a price of ${trip.totalCents}`);
    if (trip.paymentId !== null && trip.paymentId !== payment.id) fail(`the trip names payment ${trip.paymentId}, the payment service has ${payment.id}`);
    if (mismatched.has(payment.id)) fail(`the ledger lines of payment ${payment.id} do not agree with it (a second capture or a lost one)`);
    if (intents) {
      const atProcessor = intentsByReference.get(trip.id) ?? [];
      const capturedHolds = atProcessor.filter((intent) => intent.kind === 'hold' && intent.status === 'succeeded');
      const charges = atProcessor.filter((intent) => intent.kind === 'charge' && intent.status === 'succeeded');
      const capturedCents = [...capturedHolds, ...charges].reduce((sum, intent) => sum + intent.capturedCents, 0);
      if (capturedHolds.length !== 1 || charges.length > 1) fail(`the processor captured ${capturedHolds.length} holds and made ${charges.length} extra charges for it, not 1 and at most 1`);
      else if (capturedCents !== payment.capturedCents) fail(`the processor captured ${capturedCents} cents, our books ${payment.capturedCents}`);
    }
  }

  // Rule 4: the books balance.
  if (!ledger.balanced || ledger.totalCents !== 0 || ledger.unbalancedMovementIds.length > 0) {
    violations.push({
      rule: 'ledger_unbalanced',
      subject: ledger.unbalancedMovementIds[0] ?? 'ledger',
      message: `the ledger does not balance: total ${ledger.totalCents} cents, ${ledger.unbalancedMovementIds.length} unbalanced movements (${ledger.unbalancedMovementIds.slice(0, 5).join(', ')})`,
    });
  }
  for (const paymentId of mismatched) {
    if (!violations.some((violation) => violation.message.includes(paymentId))) {
      violations.push({ rule: 'ledger_unbalanced', subject: paymentId, message: `payment ${paymentId} disagrees with its ledger lines` });
    }
  }

  return {
    ok: violations.length === 0,
    violations,
    counts: {
      carsHeld: heldCars.length,
      liveTrips: liveTrips.length,
      finishedTrips: finishedTrips.length,
      openHolds: openHolds.length,
      payments: payments.length,
      ledgerMovements: ledger.movements,
      ...(intents && { processorIntents: intents.length }),
    },
  };
}

/**
 * The rules, with a violation kept only if a second reading `confirmAfterMs` later shows it again
 * for the same subject: on a platform at work a car is `in_use` a moment before its trip is
 * recorded `in_progress`. 0 reads once (a platform that is known to be quiet).
 */
export async function checkTripInvariants(
  api: OperatorApi,
  options: { confirmAfterMs?: number; sleep?: (ms: number) => Promise<void>; processor?: ProcessorReader | undefined } = {},
): Promise<InvariantReport> {
  const first = await readTripInvariants(api, options.processor);
  const confirmAfterMs = options.confirmAfterMs ?? 0;
  if (first.ok || confirmAfterMs <= 0) return first;
  await (options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))))(confirmAfterMs);
  const second = await readTripInvariants(api, options.processor);
  const seen = new Set(first.violations.map((violation) => `${violation.rule}:${violation.subject}`));
  const violations = second.violations.filter((violation) => seen.has(`${violation.rule}:${violation.subject}`));
  return { ok: violations.length === 0, violations, counts: second.counts };
}

/** A report as lines for a terminal or a failed assertion. */
export function describeInvariantReport(report: InvariantReport): string {
  const { counts } = report;
  const head = `${report.ok ? 'OK' : `${report.violations.length} VIOLATIONS`}: ${counts.carsHeld} cars held, ${counts.liveTrips} live trips, ${counts.finishedTrips} finished trips, ${counts.openHolds} open holds, ${counts.payments} payments, ${counts.ledgerMovements} ledger movements${counts.processorIntents === undefined ? ', processor not read' : `, ${counts.processorIntents} intents at the processor`}`;
  return [head, ...report.violations.map((violation) => `  [${violation.rule}] ${violation.message}`)].join('\n');
}

/**
 * The simulated processor's intents read from its store (ADR 0027): a PostgreSQL URL, or the
 * PGlite folder of a stopped embedded platform (a running one holds its folder's lock).
 */
export async function openSimulatedProcessorReader(options: { database: string; schema?: string }): Promise<ProcessorReader & { close(): Promise<void> }> {
  const { SqlProcessorStore, allProcessorIntents, simulatedProcessorSchema } = await import('@carshare/payment-service');
  const { openSqlEngine } = await import('@carshare/storage');
  const postgres = /^postgres(ql)?:\/\//.test(options.database);
  const engine = await openSqlEngine(postgres ? { databaseUrl: options.database, dataDir: 'memory://' } : { dataDir: options.database });
  const schema = options.schema ?? simulatedProcessorSchema;
  const store = new SqlProcessorStore(engine.forService(schema), schema);
  return {
    intents: () => allProcessorIntents(store),
    close: () => engine.close(),
  };
}
