import type { BlobPurpose, EventEnvelope } from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import type { Clock, IdGenerator } from '@carshare/platform';
import type { Blob } from './domain/blob.ts';

export interface BlobPage {
  items: Blob[];
  nextCursor?: string;
}

/** Blob records, in the service's own schema (SQL) or in memory for use-case tests. */
export interface BlobRecordStore {
  insert(blob: Blob): Promise<void>;
  find(id: string): Promise<Blob | undefined>;
  /**
   * Marks a pending blob uploaded with what was stored; undefined when it was not pending any
   * more (another completion won, or it was deleted): of two racing completions one marks it.
   */
  markUploaded(id: string, stored: { sizeBytes: number; sha256: string; uploadedAt: number }): Promise<Blob | undefined>;
  /** Removes the record; the removed blob, or undefined when there was none. */
  delete(id: string): Promise<Blob | undefined>;
  /** Removes the record only while it is still pending (the sweeper must not race a completion). */
  deleteIfPending(id: string): Promise<Blob | undefined>;
  /** Newest first; the cursor is one this store gave out (INVALID_CURSOR otherwise). */
  listByOwner(ownerId: string, page: { purpose: BlobPurpose | undefined; limit: number; cursor: string | undefined }): Promise<BlobPage>;
  /** Pending blobs created before `createdBefore`, oldest first, at most `limit`. */
  listPendingCreatedBefore(createdBefore: number, limit: number): Promise<Blob[]>;
}

/** Events recorded here leave through the outbox only if the surrounding transaction commits. */
export interface EventOutbox {
  add(event: EventEnvelope): Promise<void>;
}

export interface BlobTransaction {
  blobs: BlobRecordStore;
  events: EventOutbox;
}

/** One database transaction: a record's change and its event commit together. */
export interface UnitOfWork {
  run<T>(work: (tx: BlobTransaction) => Promise<T>): Promise<T>;
}

/** A short-lived request that needs no credentials of its own: the URL (and headers) carry the authority. */
export interface SignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  /** Headers the request must carry exactly (the content type of an upload is signed). */
  headers: Record<string, string>;
  expiresAt: number;
}

/**
 * The object store: bytes by key, and signed URLs that let a browser PUT or GET one key until a
 * deadline without any other credentials. Files on local disk, or any S3-compatible server.
 */
export interface BlobStore {
  readonly kind: 'files' | 's3';
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The bytes, or undefined when the key holds nothing. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** The stored size without reading the bytes, or undefined when the key holds nothing. */
  sizeOf(key: string): Promise<number | undefined>;
  /** Removes the key; removing a missing key is no error. */
  delete(key: string): Promise<void>;
  signUpload(key: string, upload: { contentType: string; sizeBytes: number; expiresAt: number }): Promise<SignedRequest>;
  signDownload(key: string, download: { contentType: string; expiresAt: number }): Promise<SignedRequest>;
}

/** The three parts of a signed URL the files store gave out, as a request brought them back. */
export interface SignedObjectRef {
  key: string;
  expires: string;
  signature: string;
}

/**
 * Serves the files store's signed URLs (the gateway passes the requests on). S3 serves its own
 * URLs, so an S3-backed blob service has none of this.
 */
export interface SignedUrlVerifier {
  /**
   * Checks the signature and the deadline of a request to `ref.key`; for a PUT, `contentType`
   * must be the signed one. PERMISSION_DENIED (SIGNATURE_INVALID | URL_EXPIRED) otherwise.
   */
  verify(method: 'PUT' | 'GET', ref: SignedObjectRef, contentType: string | undefined): void;
}

/** Re-encodes an image so nothing but its pixels survive (EXIF with GPS, comments, trailers). */
export interface ImageCleaner {
  /** The cleaned bytes of the same type; throws UnreadableImage when the pixels cannot be decoded. */
  clean(bytes: Uint8Array, contentType: 'image/jpeg' | 'image/png' | 'image/webp'): Promise<Uint8Array>;
}

export class UnreadableImage extends Error {
  override readonly name = 'UnreadableImage';
}

export interface BlobServicePorts {
  blobs: BlobRecordStore;
  unitOfWork: UnitOfWork;
  store: BlobStore;
  /** Present when `store` is the files store, whose URLs this service serves itself. */
  signedUrls: SignedUrlVerifier | undefined;
  images: ImageCleaner;
  events: EventFactory;
  clock: Clock;
  ids: IdGenerator;
  uploadUrlTtlMs: number;
  downloadUrlTtlMs: number;
  /** A pending blob older than this is swept with whatever was uploaded for it. */
  pendingTtlMs: number;
}
