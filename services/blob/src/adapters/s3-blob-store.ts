import type * as S3Module from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type * as PresignerModule from '@aws-sdk/s3-request-presigner';
import type { Clock } from '@carshare/platform';
import type { BlobStore, SignedRequest } from '../ports.ts';

/**
 * The AWS SDK is loaded on the first call, not with the service: a laptop (files) never needs it,
 * and evaluating it cost ~90 ms of every `npm start` (issue 9, start-up).
 */
interface Sdk {
  s3: typeof S3Module;
  presigner: typeof PresignerModule;
}
let sdkLoading: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  sdkLoading ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]).then(([s3, presigner]) => ({ s3, presigner }));
  return sdkLoading;
}

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

function isNotFound(sdk: Sdk, error: unknown): boolean {
  return error instanceof sdk.s3.S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey' || error.name === 'NotFound');
}

/**
 * Any S3-compatible store (AWS S3, MinIO, s3rver in tests). Uploads and downloads go straight
 * between the browser and the store on presigned URLs; the upload URL signs the content type and
 * length, so the store itself refuses other bytes (a server that checks signatures does).
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  readonly #options: S3BlobStoreOptions;
  #client: Promise<{ sdk: Sdk; client: S3Client }> | undefined;
  readonly #bucket: string;
  readonly #clock: Clock;

  constructor(options: S3BlobStoreOptions) {
    this.#options = options;
    this.#bucket = options.bucket;
    this.#clock = options.clock;
  }

  #connect(): Promise<{ sdk: Sdk; client: S3Client }> {
    const options = this.#options;
    this.#client ??= loadSdk().then((sdk) => ({
      sdk,
      client: new sdk.s3.S3Client({
        endpoint: options.endpoint,
        region: options.region,
        forcePathStyle: options.forcePathStyle,
        credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
        // Only the checksums S3 requires: MinIO and s3rver do not all speak the SDK's default
        // aws-chunked trailers, and presigned URLs must not demand a checksum the browser cannot send.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    }));
    return this.#client;
  }

  /** Creates the bucket when it does not exist yet (a fresh MinIO); a no-op otherwise. */
  async ensureBucket(): Promise<void> {
    const { sdk, client } = await this.#connect();
    try {
      await client.send(new sdk.s3.HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      if (!isNotFound(sdk, error)) throw error;
      await client.send(new sdk.s3.CreateBucketCommand({ Bucket: this.#bucket }));
    }
  }

  /** Readiness: the bucket answers. */
  async ping(): Promise<void> {
    const { sdk, client } = await this.#connect();
    await client.send(new sdk.s3.HeadBucketCommand({ Bucket: this.#bucket }));
  }

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const { sdk, client } = await this.#connect();
    await client.send(new sdk.s3.PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: bytes, ContentType: contentType, ContentLength: bytes.length }));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const { sdk, client } = await this.#connect();
    try {
      const object = await client.send(new sdk.s3.GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (isNotFound(sdk, error)) return undefined;
      throw error;
    }
  }

  async sizeOf(key: string): Promise<number | undefined> {
    const { sdk, client } = await this.#connect();
    try {
      const head = await client.send(new sdk.s3.HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(sdk, error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.#connect();
    await client.send(new sdk.s3.DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async signUpload(key: string, upload: { contentType: string; sizeBytes: number; expiresAt: number }): Promise<SignedRequest> {
    const { sdk, client } = await this.#connect();
    const command = new sdk.s3.PutObjectCommand({ Bucket: this.#bucket, Key: key, ContentType: upload.contentType, ContentLength: upload.sizeBytes });
    const url = await sdk.presigner.getSignedUrl(client, command, {
      ...this.#validity(upload.expiresAt),
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return { url, method: 'PUT', headers: { 'content-type': upload.contentType }, expiresAt: upload.expiresAt };
  }

  async signDownload(key: string, download: { contentType: string; expiresAt: number }): Promise<SignedRequest> {
    const { sdk, client } = await this.#connect();
    const command = new sdk.s3.GetObjectCommand({ Bucket: this.#bucket, Key: key, ResponseContentType: download.contentType });
    const url = await sdk.presigner.getSignedUrl(client, command, this.#validity(download.expiresAt));
    return { url, method: 'GET', headers: {}, expiresAt: download.expiresAt };
  }

  /** Signed at the service clock's time, so the expiry is the one the use case asked for. */
  #validity(expiresAt: number): { signingDate: Date; expiresIn: number } {
    const now = this.#clock.now();
    return { signingDate: new Date(now), expiresIn: Math.max(1, Math.ceil((expiresAt - now) / 1000)) };
  }

  close(): void {
    // A client never made needs no closing; one being made is closed once it is.
    void this.#client?.then(({ client }) => client.destroy(), () => undefined);
  }
}
