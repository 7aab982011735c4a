import { isUuidKey, paginate } from '@carshare/storage';
import { sql, type Kysely, type Selectable } from 'kysely';
import { expectedBalances } from '../domain/ledger.ts';
import type { Payment, PaymentStatus, RefundReason } from '../domain/payment.ts';
import type { LedgerReport, PaymentMethod, PaymentMethodPage, PaymentPage, PaymentStore, RefundRecord } from '../ports.ts';
import type { PaymentDatabase } from './payment-database.ts';

function epoch(value: Date | string): number {
  return new Date(value).getTime();
}

export function toPayment(row: Selectable<PaymentDatabase['payments']>): Payment {
  return {
    id: row.id,
    riderId: row.rider_id,
    reference: row.reference,
    currency: row.currency,
    paymentMethodId: row.payment_method_id,
    status: row.status as PaymentStatus,
    authorizedCents: Number(row.authorized_cents),
    captureCents: row.capture_cents === null ? undefined : Number(row.capture_cents),
    capturedCents: Number(row.captured_cents),
    refundedCents: Number(row.refunded_cents),
    providerIntentId: row.provider_intent_id,
    providerExtraChargeId: row.provider_extra_charge_id ?? undefined,
    captureKey: row.capture_key ?? undefined,
    captureAttempts: row.capture_attempts,
    nextCaptureAttemptAt: row.next_capture_attempt_at === null ? undefined : epoch(row.next_capture_attempt_at),
    lastError: row.last_error ?? undefined,
    version: row.version,
    createdAt: epoch(row.created_at),
    updatedAt: epoch(row.updated_at),
  };
}

export function toRow(payment: Payment) {
  return {
    id: payment.id,
    rider_id: payment.riderId,
    reference: payment.reference,
    currency: payment.currency,
    payment_method_id: payment.paymentMethodId,
    status: payment.status,
    authorized_cents: payment.authorizedCents,
    capture_cents: payment.captureCents ?? null,
    captured_cents: payment.capturedCents,
    refunded_cents: payment.refundedCents,
    provider_intent_id: payment.providerIntentId,
    provider_extra_charge_id: payment.providerExtraChargeId ?? null,
    capture_key: payment.captureKey ?? null,
    capture_attempts: payment.captureAttempts,
    next_capture_attempt_at: payment.nextCaptureAttemptAt === undefined ? null : new Date(payment.nextCaptureAttemptAt),
    last_error: payment.lastError ?? null,
    version: payment.version,
    created_at: new Date(payment.createdAt),
    updated_at: new Date(payment.updatedAt),
  };
}

function toMethod(row: Selectable<PaymentDatabase['payment_methods']>): PaymentMethod {
  return {
    id: row.id,
    riderId: row.rider_id,
    providerToken: row.provider_token,
    brand: row.brand,
    last4: row.last4,
    expMonth: row.exp_month,
    expYear: row.exp_year,
    createdAt: epoch(row.created_at),
  };
}

function toRefund(row: Selectable<PaymentDatabase['refunds']>): RefundRecord {
  return {
    id: row.id,
    paymentId: row.payment_id,
    amountCents: Number(row.amount_cents),
    reason: row.reason as RefundReason,
    note: row.note ?? undefined,
    operatorId: row.operator_id,
    providerRefundId: row.provider_refund_id,
    at: epoch(row.created_at),
  };
}

/** Reads of the payment service's tables; `db` is the service's database or a transaction on it. */
export class SqlPaymentStore implements PaymentStore {
  readonly #db: Kysely<PaymentDatabase>;

  constructor(db: Kysely<PaymentDatabase>) {
    this.#db = db;
  }

  async findById(id: string): Promise<Payment | undefined> {
    const row = await this.#db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toPayment(row);
  }

  async findByReference(reference: string): Promise<Payment | undefined> {
    const row = await this.#db.selectFrom('payments').selectAll().where('reference', '=', reference).executeTakeFirst();
    return row && toPayment(row);
  }

  async list(query: { riderId?: string | undefined; status?: PaymentStatus | undefined; limit: number; cursor: string | undefined }): Promise<PaymentPage> {
    let select = this.#db.selectFrom('payments').selectAll();
    if (query.riderId !== undefined) select = select.where('rider_id', '=', query.riderId);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    const page = await paginate(select, { key: 'id', direction: 'desc', limit: query.limit, cursor: query.cursor, isKey: isUuidKey });
    return { items: page.items.map(toPayment), ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
  }

  async dueCaptures(now: number, limit: number): Promise<Payment[]> {
    const rows = await this.#db
      .selectFrom('payments')
      .selectAll()
      .where('status', '=', 'capture_pending')
      .where('next_capture_attempt_at', '<=', new Date(now))
      .orderBy('next_capture_attempt_at')
      .limit(limit)
      .execute();
    return rows.map(toPayment);
  }

  async findMethod(id: string): Promise<PaymentMethod | undefined> {
    const row = await this.#db.selectFrom('payment_methods').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toMethod(row);
  }

  async listMethods(riderId: string, page: { limit: number; cursor: string | undefined }): Promise<PaymentMethodPage> {
    const select = this.#db.selectFrom('payment_methods').selectAll().where('rider_id', '=', riderId);
    const result = await paginate(select, { key: 'id', direction: 'desc', limit: page.limit, cursor: page.cursor, isKey: isUuidKey });
    return { items: result.items.map(toMethod), ...(result.nextCursor !== undefined && { nextCursor: result.nextCursor }) };
  }

  async refundsOf(paymentId: string): Promise<RefundRecord[]> {
    const rows = await this.#db.selectFrom('refunds').selectAll().where('payment_id', '=', paymentId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toRefund);
  }

  async checkLedger(): Promise<LedgerReport> {
    const totals = await this.#db
      .selectFrom('ledger_entries')
      .select([sql<string>`count(DISTINCT movement_id)`.as('movements'), sql<string>`coalesce(sum(amount_cents), 0)`.as('total')])
      .executeTakeFirstOrThrow();
    const unbalanced = await this.#db
      .selectFrom('ledger_entries')
      .select('movement_id')
      .groupBy('movement_id')
      .having(sql`sum(amount_cents)`, '<>', 0)
      .execute();
    // Each payment's own lines, per account kind, against what its amounts say they must be.
    const perPayment = await this.#db
      .selectFrom('payments as p')
      .leftJoin('ledger_entries as e', 'e.payment_id', 'p.id')
      .select([
        'p.id',
        'p.status',
        'p.authorized_cents',
        'p.captured_cents',
        'p.refunded_cents',
        sql<string>`coalesce(sum(e.amount_cents) FILTER (WHERE e.account = 'deposits_held'), 0)`.as('held'),
        sql<string>`coalesce(sum(e.amount_cents) FILTER (WHERE e.account = 'revenue'), 0)`.as('revenue'),
        sql<string>`coalesce(sum(e.amount_cents) FILTER (WHERE e.account = 'refunds'), 0)`.as('refunds'),
      ])
      .groupBy(['p.id', 'p.status', 'p.authorized_cents', 'p.captured_cents', 'p.refunded_cents'])
      .execute();
    const mismatched = perPayment
      .filter((row) => {
        const expected = expectedBalances({
          status: row.status,
          authorizedCents: Number(row.authorized_cents),
          capturedCents: Number(row.captured_cents),
          refundedCents: Number(row.refunded_cents),
        });
        return Number(row.held) !== expected.depositsHeld || Number(row.revenue) !== expected.revenue || Number(row.refunds) !== expected.refunds;
      })
      .map((row) => row.id);
    return {
      movements: Number(totals.movements),
      totalCents: Number(totals.total),
      unbalancedMovementIds: unbalanced.map((row) => row.movement_id),
      mismatchedPaymentIds: mismatched,
    };
  }
}
