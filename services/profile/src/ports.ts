import type { EventEnvelope, blobRpc } from '@carshare/contracts';
import type { RpcClient } from '@carshare/platform';
import type { LicenceProfile } from './domain/licence-profile.ts';

export type AuditAction = 'submitted' | 'auto_verified' | 'flagged_for_review' | 'approved' | 'rejected' | 'expired' | 'cleared';

/** One audited decision. `detail` never carries the licence number or the birth date. */
export interface AuditEntry {
  id: string;
  userId: string;
  action: AuditAction;
  actorId: string | null;
  actorKind: 'rider' | 'operator' | 'system';
  detail: Record<string, unknown>;
  at: number;
}

export interface ReviewQueueQuery {
  limit: number;
  /** Keyset position from the previous page (INVALID_CURSOR when it is not one of ours). */
  cursor: string | undefined;
  status: 'pending' | 'verified' | 'rejected' | undefined;
}

export interface ReviewQueuePage {
  items: LicenceProfile[];
  nextCursor: string | undefined;
}

export interface ProfileStore {
  find(userId: string): Promise<LicenceProfile | undefined>;
  /** The row as it is now, locked until the transaction ends (FOR UPDATE): decisions read through this. */
  findForUpdate(userId: string): Promise<LicenceProfile | undefined>;
  save(profile: LicenceProfile): Promise<void>;
  delete(userId: string): Promise<boolean>;
  reviewQueue(query: ReviewQueueQuery): Promise<ReviewQueuePage>;
  /** Verified profiles whose licence expired before `today` (YYYY-MM-DD), oldest expiry first. */
  verifiedExpiredBefore(today: string, limit: number): Promise<LicenceProfile[]>;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  historyOf(userId: string, limit: number): Promise<AuditEntry[]>;
}

export interface OcrJob {
  submissionId: string;
  userId: string;
  attempts: number;
  nextAttemptAt: number;
}

/** Submissions waiting for a reading: durable, so an OCR outage only delays them. */
export interface OcrJobQueue {
  enqueue(job: { submissionId: string; userId: string }, now: number): Promise<void>;
  due(now: number, limit: number): Promise<OcrJob[]>;
  retryAt(submissionId: string, attempts: number, at: number): Promise<void>;
  remove(submissionId: string): Promise<void>;
}

export interface ProfileTransaction {
  profiles: ProfileStore;
  audit: AuditLog;
  ocrJobs: OcrJobQueue;
  /** Events recorded here leave through the outbox only if the transaction commits. */
  events: { add(event: EventEnvelope): Promise<void> };
}

export interface UnitOfWork {
  run<T>(work: (tx: ProfileTransaction) => Promise<T>): Promise<T>;
}

/** What the OCR engine gives back: its raw text (parsed by the domain) and a confidence 0–100. */
export interface OcrText {
  text: string;
  confidence: number;
}

/**
 * Reads the text on a licence photo. Implementations: tesseract.js in a worker thread, and a
 * simulated one (latency, failure rate) for drills. `signal` aborts a read that takes too long.
 */
export interface OcrProvider {
  readonly name: string;
  read(image: Uint8Array, signal: AbortSignal): Promise<OcrText>;
  close(): Promise<void>;
}

/** The blob service, as far as profiles use it. */
export type BlobClient = Pick<
  RpcClient<typeof blobRpc.methods>,
  'CreateUpload' | 'CompleteUpload' | 'GetDownloadUrl' | 'ReadContent' | 'Delete' | 'DeleteByOwner'
>;
