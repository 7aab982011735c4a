import type { ColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** The user service's tables as kysely sees them (mirrors migrations/). */
export interface UserDatabase {
  users: {
    id: string;
    email: string;
    display_name: string;
    password_hash: string;
    role: string;
    plan: string;
    status: string;
    suspended_reason: string | null;
    email_verified: boolean;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  mail_tokens: {
    token_hash: string;
    user_id: string;
    purpose: string;
    email: string;
    created_at: Timestamp;
    expires_at: Timestamp;
    used_at: Timestamp | null;
  };
  mail_outbox: {
    id: string;
    recipient: string;
    subject: string;
    body: string;
    created_at: Timestamp;
    attempts: ColumnType<number, number | undefined, number>;
    sent_at: Timestamp | null;
    last_error: string | null;
  };
  known_devices: {
    token_hash: string;
    device_id: string;
    user_id: string;
    created_at: Timestamp;
    last_used_at: Timestamp;
  };
  attempt_counts: {
    key: string;
    failures: number;
    last_failure_at: Timestamp;
  };
  refresh_tokens: {
    token_hash: string;
    family_id: string;
    user_id: string;
    issued_at: Timestamp;
    expires_at: Timestamp;
    rotated_at: Timestamp | null;
    revoked_at: Timestamp | null;
  };
  signing_keys: {
    kid: string;
    public_jwk: ColumnType<Record<string, unknown>, string, string>;
    private_jwk: ColumnType<Record<string, unknown>, string, string>;
    created_at: Timestamp;
    retired_at: Timestamp | null;
  };
}
