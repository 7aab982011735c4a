import { isUniqueViolation, isUuidKey, paginate } from '@carshare/storage';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { FeeCharge, FeeChargeStatus } from '../domain/fee-charge.ts';
import type { FeeChargePage, FeeChargeStore, FeeOutcome } from '../ports.ts';
import type { PaymentDatabase } from './payment-database.ts';

function toFee(row: Selectable<PaymentDatabase['fee_charges']>): FeeCharge {
  return {
    id: row.id,
    reference: row.reference,
    riderId: row.rider_id,
    amountCents: Number(row.amount_cents),
    currency: row.currency,
    description: row.description,
    status: row.status as FeeChargeStatus,
    attempts: row.attempts,
    lastError: row.last_error ?? undefined,
    paymentId: row.payment_id ?? undefined,
    waiver:
      row.waived_by !== null && row.waive_reason !== null && row.waived_at !== null
        ? { operatorId: row.waived_by, reason: row.waive_reason, at: new Date(row.waived_at).getTime() }
        : undefined,
    createdAt: new Date(row.created_at).getTime(),
    updatedAt: new Date(row.updated_at).getTime(),
  };
}

/** Fee charges in the payment service's schema. Every change is one guarded statement: of two racing, one wins. */
export class SqlFeeChargeStore implements FeeChargeStore {
  readonly #db: Kysely<PaymentDatabase>;

  constructor(db: Kysely<PaymentDatabase>) {
    this.#db = db;
  }

  async open(fee: FeeCharge): Promise<FeeCharge> {
    const existing = await this.findByReference(fee.reference);
    if (existing) return existing;
    try {
      await this.#db
        .insertInto('fee_charges')
        .values({
          id: fee.id,
          reference: fee.reference,
          rider_id: fee.riderId,
          amount_cents: fee.amountCents,
          currency: fee.currency,
          description: fee.description,
          status: fee.status,
          attempts: fee.attempts,
          last_error: null,
          payment_id: null,
          waived_by: null,
          waive_reason: null,
          waived_at: null,
          created_at: new Date(fee.createdAt),
          updated_at: new Date(fee.updatedAt),
        })
        .execute();
      return fee;
    } catch (error) {
      // The same fee asked for twice at once: the unique reference let one row in.
      if (!isUniqueViolation(error)) throw error;
      const winner = await this.findByReference(fee.reference);
      if (!winner) throw error;
      return winner;
    }
  }

  async find(id: string): Promise<FeeCharge | undefined> {
    const row = await this.#db.selectFrom('fee_charges').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toFee(row);
  }

  async findByReference(reference: string): Promise<FeeCharge | undefined> {
    const row = await this.#db.selectFrom('fee_charges').selectAll().where('reference', '=', reference).executeTakeFirst();
    return row && toFee(row);
  }

  async claimRetry(id: string, now: number): Promise<FeeCharge | undefined> {
    const row = await this.#db
      .updateTable('fee_charges')
      .set({ status: 'charging', attempts: sql`attempts + 1`, updated_at: new Date(now) })
      .where('id', '=', id)
      .where('status', '=', 'failed')
      .returningAll()
      .executeTakeFirst();
    return row && toFee(row);
  }

  async settle(id: string, attempt: number, outcome: FeeOutcome, now: number): Promise<FeeCharge | undefined> {
    let update = this.#db.updateTable('fee_charges').set({ status: outcome.status, last_error: outcome.lastError ?? null, updated_at: new Date(now) });
    if (outcome.paymentId !== undefined) update = update.set({ payment_id: outcome.paymentId });
    const row = await update.where('id', '=', id).where('status', '=', 'charging').where('attempts', '=', attempt).returningAll().executeTakeFirst();
    return row && toFee(row);
  }

  async chargedByReference(reference: string, paymentId: string, now: number): Promise<void> {
    await this.#db
      .updateTable('fee_charges')
      .set({ status: 'charged', payment_id: paymentId, last_error: null, updated_at: new Date(now) })
      .where('reference', '=', reference)
      .where('status', 'in', ['charging', 'failed'])
      .execute();
  }

  async waive(id: string, waiver: { operatorId: string; reason: string }, now: number): Promise<FeeCharge | undefined> {
    const row = await this.#db
      .updateTable('fee_charges')
      .set({ status: 'waived', waived_by: waiver.operatorId, waive_reason: waiver.reason, waived_at: new Date(now), updated_at: new Date(now) })
      .where('id', '=', id)
      .where('status', '=', 'failed')
      .returningAll()
      .executeTakeFirst();
    return row && toFee(row);
  }

  async list(query: { status?: FeeChargeStatus | undefined; riderId?: string | undefined; limit: number; cursor: string | undefined }): Promise<FeeChargePage> {
    let select = this.#db.selectFrom('fee_charges').selectAll();
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.riderId !== undefined) select = select.where('rider_id', '=', query.riderId);
    const page = await paginate(select, { key: 'id', direction: 'desc', limit: query.limit, cursor: query.cursor, isKey: isUuidKey });
    return { items: page.items.map(toFee), ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
  }
}
