import type { EventEnvelope } from '@carshare/contracts';
import type { Outbox } from '@carshare/messaging';
import type { BatchStatement, ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { Movement } from '../domain/ledger.ts';
import { paymentChanged, type Payment } from '../domain/payment.ts';
import type { PaymentTransaction, PaymentWrites, RefundRecord, UnitOfWork } from '../ports.ts';
import type { PaymentDatabase } from './payment-database.ts';
import { toPayment, toRow } from './sql-payment-store.ts';

/** One SQL transaction (or batch) for a use case's writes and the outbox rows of its events. */
export class SqlUnitOfWork implements UnitOfWork {
  readonly #database: ServiceDatabase<PaymentDatabase>;
  readonly #outbox: Outbox;

  constructor(database: ServiceDatabase<PaymentDatabase>, outbox: Outbox) {
    this.#database = database;
    this.#outbox = outbox;
  }

  run<T>(work: (tx: PaymentTransaction) => Promise<T>): Promise<T> {
    return this.#database.transaction(async (transaction) => {
      const trx = transaction as unknown as Kysely<PaymentDatabase>;
      return work(sqlPaymentTransaction(trx, (event) => this.#outbox.add(trx, event)));
    });
  }

  async write(plan: (writes: PaymentWrites) => void): Promise<void> {
    const db = this.#database.db;
    const statements: BatchStatement[] = [];
    let events = 0;
    plan({
      insert: (payment) => void statements.push({ query: insertPayment(db, payment) }),
      update: (payment, expectedVersion) => void statements.push({ query: updatePayment(db, payment, expectedVersion), orElse: () => paymentChanged(payment.id) }),
      record: (movement) => void statements.push({ query: insertMovement(db, movement) }),
      insertRefund: (refund) => void statements.push({ query: insertRefund(db, refund) }),
      publish: (event) => {
        events += 1;
        statements.push({ query: this.#outbox.insert(event).compile(db) });
      },
    });
    if (statements.length === 0) return;
    await this.#database.batch(statements);
    if (events > 0) this.#outbox.announce();
  }
}

const insertPayment = (db: Kysely<PaymentDatabase>, payment: Payment) => db.insertInto('payments').values(toRow(payment));

function updatePayment(db: Kysely<PaymentDatabase>, payment: Payment, expectedVersion: number) {
  const { id: _id, created_at: _created, ...changes } = toRow(payment);
  return db.updateTable('payments').set(changes).where('id', '=', payment.id).where('version', '=', expectedVersion);
}

const insertMovement = (db: Kysely<PaymentDatabase>, movement: Movement) =>
  db.insertInto('ledger_entries').values(
    movement.lines.map((line, index) => ({
      movement_id: movement.id,
      line: index,
      payment_id: movement.paymentId,
      kind: movement.kind,
      account: line.account,
      amount_cents: line.amountCents,
      currency: movement.currency,
      created_at: new Date(movement.at),
    })),
  );

const insertRefund = (db: Kysely<PaymentDatabase>, refund: RefundRecord) =>
  db.insertInto('refunds').values({
    id: refund.id,
    payment_id: refund.paymentId,
    amount_cents: refund.amountCents,
    reason: refund.reason,
    note: refund.note ?? null,
    operator_id: refund.operatorId,
    provider_refund_id: refund.providerRefundId,
    created_at: new Date(refund.at),
  });

function sqlPaymentTransaction(trx: Kysely<PaymentDatabase>, publish: (event: EventEnvelope) => Promise<void>): PaymentTransaction {
  return {
    async lockById(id) {
      const row = await trx.selectFrom('payments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      return row && toPayment(row);
    },
    async insert(payment) {
      await insertPayment(trx, payment).execute();
    },
    async update(payment, expectedVersion) {
      const updated = await updatePayment(trx, payment, expectedVersion).executeTakeFirst();
      return updated.numUpdatedRows === 1n;
    },
    async insertMethod(method) {
      await trx
        .insertInto('payment_methods')
        .values({
          id: method.id,
          rider_id: method.riderId,
          provider_token: method.providerToken,
          brand: method.brand,
          last4: method.last4,
          exp_month: method.expMonth,
          exp_year: method.expYear,
          created_at: new Date(method.createdAt),
        })
        .execute();
    },
    async deleteMethod(id) {
      await trx.deleteFrom('payment_methods').where('id', '=', id).execute();
    },
    async record(movement) {
      await insertMovement(trx, movement).execute();
    },
    async insertRefund(refund) {
      await insertRefund(trx, refund).execute();
    },
    publish,
  };
}
