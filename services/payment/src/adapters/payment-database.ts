import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** bigint columns come back as strings from pg and as numbers from PGlite: read both. */
type Cents = ColumnType<string | number, number, number>;

/** The payment service's tables as kysely sees them (mirrors migrations/). */
export interface PaymentDatabase {
  payment_methods: {
    id: string;
    rider_id: string;
    provider_token: string;
    brand: string;
    last4: string;
    exp_month: number;
    exp_year: number;
    created_at: Timestamp;
  };
  payments: {
    id: string;
    rider_id: string;
    reference: string;
    currency: string;
    payment_method_id: string;
    status: string;
    authorized_cents: Cents;
    capture_cents: ColumnType<string | number | null, number | null, number | null>;
    captured_cents: Cents;
    refunded_cents: Cents;
    provider_intent_id: string;
    provider_extra_charge_id: string | null;
    capture_key: string | null;
    capture_attempts: number;
    next_capture_attempt_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
    last_error: string | null;
    version: number;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  refunds: {
    id: string;
    payment_id: string;
    amount_cents: Cents;
    reason: string;
    note: string | null;
    operator_id: string;
    provider_refund_id: string;
    created_at: Timestamp;
  };
  fee_charges: {
    id: string;
    reference: string;
    rider_id: string;
    amount_cents: Cents;
    currency: string;
    description: string;
    status: string;
    attempts: number;
    last_error: string | null;
    payment_id: string | null;
    waived_by: string | null;
    waive_reason: string | null;
    waived_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  ledger_entries: {
    movement_id: string;
    line: number;
    payment_id: string;
    kind: string;
    account: string;
    amount_cents: Cents;
    currency: string;
    created_at: Timestamp;
  };
}
