import { DatabaseConfig, HttpConfig, LogConfig, MessagingConfig, TracingConfig } from '@carshare/platform';
import { loadServiceConfig, type ServiceConfigShape } from '@carshare/service-kit';
import { Type, type Static } from 'typebox';

const defaultPort = 4003;

export const BlobConfigSchema = Type.Object({
  http: HttpConfig(defaultPort),
  database: DatabaseConfig,
  messaging: MessagingConfig,
  log: LogConfig,
  tracing: TracingConfig,
  store: Type.Object({
    /** Files store (no S3 endpoint): where the bytes live. Unset → `<database.dataDir>/blobs`. */
    filesDirectory: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * Files store: HMAC key of its signed URLs, 32 random bytes in base64url. Every blob instance
     * needs the same one. Unset → a random key per start (URLs given out before a restart stop working).
     */
    urlSigningKey: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })),
    /**
     * Files store: prefix of its signed URLs, the gateway's public origin (`https://api.example.com`);
     * '' gives root-relative URLs (`/blobs/…`) that a browser resolves against the page's origin.
     */
    publicBaseUrl: Type.String({ default: '', pattern: '^(https?://[^\\s/?#]+)?$' }),
    s3: Type.Object({
      /** Set → S3-compatible store (AWS, MinIO); unset → files store. */
      endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
      bucket: Type.String({ minLength: 3, maxLength: 63, default: 'carshare-blobs' }),
      region: Type.String({ minLength: 1, default: 'us-east-1' }),
      accessKeyId: Type.Optional(Type.String({ minLength: 1 })),
      secretAccessKey: Type.Optional(Type.String({ minLength: 1 })),
      /** Bucket in the path (MinIO); false for AWS's virtual-hosted buckets. */
      forcePathStyle: Type.Boolean({ default: true }),
    }),
  }),
  uploads: Type.Object({
    /** How long an upload URL works: long enough for 10 MB on a slow phone connection. */
    uploadUrlTtlSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 600 }),
    /** How long a download URL works: an operator's page shows the picture at once. */
    downloadUrlTtlSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 300 }),
    /** A pending blob older than this is swept with its bytes; at least the upload URL's life. */
    pendingTtlSeconds: Type.Integer({ minimum: 60, default: 3600 }),
    sweepIntervalSeconds: Type.Integer({ minimum: 1, default: 300 }),
    /** Decompression-bomb guard for re-encoding: 50 MP covers every phone camera. */
    maxImagePixels: Type.Integer({ minimum: 1, default: 50_000_000 }),
  }),
});

export type BlobConfig = Static<typeof BlobConfigSchema>;

/** How the blob service's config is read: BLOB_HOST, BLOB_PORT, the common variables, and these. */
export const blobConfigShape = {
  envPrefix: 'BLOB',
  defaultPort,
  configSchema: BlobConfigSchema,
  envMap: {
    BLOB_FILES_DIR: 'store.filesDirectory',
    BLOB_URL_SIGNING_KEY: 'store.urlSigningKey',
    BLOB_PUBLIC_BASE_URL: 'store.publicBaseUrl',
    S3_ENDPOINT: 'store.s3.endpoint',
    S3_BUCKET: 'store.s3.bucket',
    S3_REGION: 'store.s3.region',
    S3_ACCESS_KEY_ID: 'store.s3.accessKeyId',
    S3_SECRET_ACCESS_KEY: 'store.s3.secretAccessKey',
    S3_FORCE_PATH_STYLE: 'store.s3.forcePathStyle',
    BLOB_UPLOAD_URL_TTL_SECONDS: 'uploads.uploadUrlTtlSeconds',
    BLOB_DOWNLOAD_URL_TTL_SECONDS: 'uploads.downloadUrlTtlSeconds',
    BLOB_PENDING_TTL_SECONDS: 'uploads.pendingTtlSeconds',
    BLOB_SWEEP_INTERVAL_SECONDS: 'uploads.sweepIntervalSeconds',
  },
} as const satisfies ServiceConfigShape<typeof BlobConfigSchema>;

export function loadBlobConfig(overrides: Record<string, unknown> = {}): BlobConfig {
  return loadServiceConfig(blobConfigShape, overrides);
}
