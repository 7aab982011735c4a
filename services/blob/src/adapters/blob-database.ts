import type { BlobContentType, BlobPurpose } from '@carshare/contracts';
import type { ColumnType } from 'kysely';
import type { BlobStatus } from '../domain/blob.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** The blob service's tables as kysely sees them (mirrors migrations/). */
export interface BlobDatabase {
  blobs: {
    id: string;
    owner_id: string;
    purpose: BlobPurpose;
    content_type: BlobContentType;
    declared_size_bytes: number;
    status: BlobStatus;
    size_bytes: number | null;
    sha256: string | null;
    created_at: Timestamp;
    uploaded_at: Timestamp | null;
  };
}
