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
    created_at: Timestamp;
    updated_at: Timestamp;
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
