import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Clock } from '@carshare/platform';
import type { BlobStore, SignedRequest } from '../ports.ts';

export interface S3BlobStoreOptions {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Bucket in the path (MinIO, s3rver) rather than in the host name (AWS's default). */
  forcePathStyle: boolean;
  clock: Clock;
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey' || error.name === 'NotFound');
}

/**
 * Any S3-compatible store (AWS S3, MinIO, s3rver in tests). Uploads and downloads go straight
 * between the browser and the store on presigned URLs; the upload URL signs the content type and
 * length, so the store itself refuses other bytes (a server that checks signatures does).
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #clock: Clock;

  constructor(options: S3BlobStoreOptions) {
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Only the checksums S3 requires: MinIO and s3rver do not all speak the SDK's default
      // aws-chunked trailers, and presigned URLs must not demand a checksum the browser cannot send.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.#bucket = options.bucket;
    this.#clock = options.clock;
  }

  /** Creates the bucket when it does not exist yet (a fresh MinIO); a no-op otherwise. */
  async ensureBucket(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.#client.send(new CreateBucketCommand({ Bucket: this.#bucket }));
    }
  }

  /** Readiness: the bucket answers. */
  async ping(): Promise<void> {
    await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: bytes, ContentType: contentType, ContentLength: bytes.length }));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const object = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async sizeOf(key: string): Promise<number | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async signUpload(key: string, upload: { contentType: string; sizeBytes: number; expiresAt: number }): Promise<SignedRequest> {
    const command = new PutObjectCommand({ Bucket: this.#bucket, Key: key, ContentType: upload.contentType, ContentLength: upload.sizeBytes });
    const url = await getSignedUrl(this.#client, command, {
      ...this.#validity(upload.expiresAt),
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return { url, method: 'PUT', headers: { 'content-type': upload.contentType }, expiresAt: upload.expiresAt };
  }

  async signDownload(key: string, download: { contentType: string; expiresAt: number }): Promise<SignedRequest> {
    const command = new GetObjectCommand({ Bucket: this.#bucket, Key: key, ResponseContentType: download.contentType });
    const url = await getSignedUrl(this.#client, command, this.#validity(download.expiresAt));
    return { url, method: 'GET', headers: {}, expiresAt: download.expiresAt };
  }

  /** Signed at the service clock's time, so the expiry is the one the use case asked for. */
  #validity(expiresAt: number): { signingDate: Date; expiresIn: number } {
    const now = this.#clock.now();
    return { signingDate: new Date(now), expiresIn: Math.max(1, Math.ceil((expiresAt - now) / 1000)) };
  }

  close(): void {
    this.#client.destroy();
  }
}
