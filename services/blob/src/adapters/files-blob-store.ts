import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidArgument, PermissionDenied, type Clock, type IdGenerator } from '@carshare/platform';
import type { BlobStore, SignedObjectRef, SignedRequest, SignedUrlVerifier } from '../ports.ts';

/** Keys are slash-separated words: no `..`, no absolute paths, nothing that leaves the directory. */
const safeKey = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;
const epochSeconds = /^\d{1,12}$/;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export interface FilesBlobStoreOptions {
  /** Where the bytes live; created on first write. */
  directory: string;
  /** HMAC-SHA256 key of the signed URLs: every instance that serves them needs the same one. */
  signingKey: Uint8Array;
  /**
   * Prefix of the signed URLs: the gateway's public origin, or '' for root-relative URLs that a
   * browser resolves against the page's origin (the web apps are served by, or proxied to, the
   * gateway). The gateway serves `PUT|GET /blobs/<key>` and passes them to this service.
   */
  publicBaseUrl: string;
  clock: Clock;
  /** Names the temporary file of a write, which is renamed over the key when complete. */
  ids: IdGenerator;
}

/**
 * The embedded object store: files on local disk, and URLs signed with HMAC-SHA256 over method,
 * key, expiry and (for uploads) content type, which the blob service itself checks when the
 * gateway passes a request on. A write goes to a temporary file renamed over the key, so a
 * reader never sees half an object.
 */
export class FilesBlobStore implements BlobStore, SignedUrlVerifier {
  readonly kind = 'files';
  readonly #options: FilesBlobStoreOptions;

  constructor(options: FilesBlobStoreOptions) {
    if (options.signingKey.length < 32) throw new RangeError('the signing key needs at least 32 bytes');
    this.#options = options;
  }

  #path(key: string): string {
    if (!safeKey.test(key)) throw InvalidArgument('INVALID_KEY', 'not a store key');
    return join(this.#options.directory, ...key.split('/'));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${this.#options.ids.next()}.partial`;
    try {
      await writeFile(temporary, bytes);
      await rename(temporary, path);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.#path(key)));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async sizeOf(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.#path(key))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async signUpload(key: string, upload: { contentType: string; expiresAt: number }): Promise<SignedRequest> {
    return this.#sign('PUT', key, upload.expiresAt, upload.contentType);
  }

  async signDownload(key: string, download: { expiresAt: number }): Promise<SignedRequest> {
    return this.#sign('GET', key, download.expiresAt, undefined);
  }

  verify(method: 'PUT' | 'GET', ref: SignedObjectRef, contentType: string | undefined): void {
    const invalid = () => PermissionDenied('SIGNATURE_INVALID', 'the URL signature does not match: ask for a new URL');
    if (!safeKey.test(ref.key) || !epochSeconds.test(ref.expires)) throw invalid();
    const expected = this.#signature(method, ref.key, ref.expires, contentType);
    const given = Buffer.from(ref.signature, 'base64url');
    // Compared in constant time, and before the expiry: a tampered expiry is a bad signature.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    if (this.#options.clock.now() >= Number(ref.expires) * 1000) throw PermissionDenied('URL_EXPIRED', 'the URL has expired: ask for a new one');
  }

  #sign(method: 'PUT' | 'GET', key: string, expiresAt: number, contentType: string | undefined): SignedRequest {
    this.#path(key);
    const expires = String(Math.floor(expiresAt / 1000));
    const signature = this.#signature(method, key, expires, contentType).toString('base64url');
    const query = new URLSearchParams({ expires, signature });
    return {
      url: `${this.#options.publicBaseUrl}/blobs/${key}?${query.toString()}`,
      method,
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      expiresAt: Number(expires) * 1000,
    };
  }

  #signature(method: 'PUT' | 'GET', key: string, expires: string, contentType: string | undefined): Buffer {
    return createHmac('sha256', this.#options.signingKey).update(`${method}\n${key}\n${expires}\n${contentType ?? ''}`).digest();
  }
}
