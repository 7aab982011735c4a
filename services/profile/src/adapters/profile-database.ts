import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

/** The profile service's tables as kysely sees them (mirrors migrations/). */
export interface ProfileDatabase {
  profiles: {
    user_id: string;
    status: string;
    fields: Json<unknown> | null;
    photo_licence_front: string | null;
    photo_licence_back: string | null;
    photo_selfie: string | null;
    submission_id: string | null;
    submitted_at: Timestamp | null;
    verified_at: Timestamp | null;
    verified_by: string | null;
    rejection: Json<unknown> | null;
    ocr: Json<unknown>;
    expires_on: ColumnType<string | Date, string, string> | null;
    queue_rank: Generated<number>;
    updated_at: Timestamp;
  };
  review_audit: {
    id: string;
    user_id: string;
    action: string;
    actor_id: string | null;
    actor_kind: string;
    detail: Json<Record<string, unknown>>;
    at: Timestamp;
  };
  ocr_jobs: {
    submission_id: string;
    user_id: string;
    attempts: number;
    next_attempt_at: Timestamp;
    created_at: Timestamp;
  };
}
