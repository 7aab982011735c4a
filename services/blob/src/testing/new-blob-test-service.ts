import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventFactory } from '@carshare/messaging';
import { FakeClock, SequentialIds } from '@carshare/testing';
import { FilesBlobStore } from '../adapters/files-blob-store.ts';
import { SharpImageCleaner } from '../adapters/sharp-image-cleaner.ts';
import { createBlobService } from '../blob-service.ts';
import { MemoryBlobRecordStore } from './memory-blob-record-store.ts';
import { MemoryEventOutbox } from './memory-event-outbox.ts';
import { MemoryUnitOfWork } from './memory-unit-of-work.ts';

export const blobTestTtls = { uploadUrlTtlMs: 10 * 60_000, downloadUrlTtlMs: 5 * 60_000, pendingTtlMs: 60 * 60_000 };

/**
 * The use cases on in-memory records and outbox, a files store in a temporary directory (its
 * signed URLs are the service's own) and the real image cleaner (~15 ms a photo).
 */
export async function newBlobTestService() {
  const directory = await mkdtemp(join(tmpdir(), 'carshare-blob-service-'));
  const clock = new FakeClock();
  const ids = new SequentialIds();
  const blobs = new MemoryBlobRecordStore();
  const outbox = new MemoryEventOutbox();
  const store = new FilesBlobStore({ directory, signingKey: new Uint8Array(32).fill(1), publicBaseUrl: '', clock, ids });
  const sut = createBlobService({
    blobs,
    unitOfWork: new MemoryUnitOfWork(blobs, outbox),
    store,
    signedUrls: store,
    images: new SharpImageCleaner(),
    events: createEventFactory({ source: 'blob', clock, ids }),
    clock,
    ids,
    ...blobTestTtls,
  });
  return {
    sut,
    fakes: { blobs, outbox, store, clock },
    /** Every file the store holds, as keys: "nothing stored" is an empty list. */
    async storedKeys(): Promise<string[]> {
      const entries = await readdir(directory, { recursive: true, withFileTypes: true });
      return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(directory.length + 1));
    },
    close: () => rm(directory, { recursive: true, force: true }),
  };
}

/** The parts of a files-store URL that the gateway passes on. */
export function signedRefOf(url: string): { key: string; expires: string; signature: string } {
  const parsed = new URL(url, 'http://gateway.invalid');
  return { key: parsed.pathname.replace(/^\/blobs\//, ''), expires: parsed.searchParams.get('expires') ?? '', signature: parsed.searchParams.get('signature') ?? '' };
}
