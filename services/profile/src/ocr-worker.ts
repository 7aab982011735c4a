import type { Observability } from '@carshare/observability';
import { createBackgroundContext, systemClock, type Clock } from '@carshare/platform';
import type { DownstreamPolicy } from '@carshare/resilience';
import { parseLicenceText } from './domain/licence-text-parser.ts';
import type { BlobClient, OcrJob, OcrJobQueue, OcrProvider, ProfileStore } from './ports.ts';
import type { ProfileService } from './profile-service.ts';

export interface OcrWorkerSettings {
  /** One read may take this long before it is abandoned (and the engine's thread restarted). */
  timeoutMs: number;
  /** How often due jobs are looked for when nothing wakes the worker. */
  pollIntervalMs: number;
  batchSize: number;
  /** A failed read waits retryBaseMs × 2^(attempts−1), at most retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface OcrWorkerDeps {
  jobs: OcrJobQueue;
  profiles: ProfileStore;
  blobs: BlobClient;
  provider: OcrProvider;
  /** Breaker (and bulkhead) around the provider: while it is open, reads fail fast and jobs wait. */
  policy: DownstreamPolicy;
  service: Pick<ProfileService, 'applyOcrReading' | 'recordOcrFailure'>;
  observability: Observability;
  clock: Clock;
  settings: OcrWorkerSettings;
}

export interface DrainResult {
  autoVerified: number;
  flagged: number;
  failed: number;
  dropped: number;
}

/**
 * Reads licence photos for the submissions queued by the profile.submitted consumer. Outside any
 * transaction (a read takes about a second); each result is applied in a transaction of its own.
 * A failed read leaves the profile pending in the review queue and the job waiting for its next
 * attempt, so the queue catches up by itself once the provider answers again.
 */
export class OcrWorker {
  readonly #deps: OcrWorkerDeps;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;
  #again = false;

  constructor(deps: OcrWorkerDeps) {
    this.#deps = deps;
  }

  /** Reads every job due now, one after another; what tests and the poll loop call. */
  async drainOnce(): Promise<DrainResult> {
    const { jobs, clock, settings } = this.#deps;
    const result: DrainResult = { autoVerified: 0, flagged: 0, failed: 0, dropped: 0 };
    for (const job of await jobs.due(clock.now(), settings.batchSize)) {
      const outcome = await this.#process(job);
      if (outcome === 'auto_verified') result.autoVerified++;
      else if (outcome === 'flagged_for_review') result.flagged++;
      else if (outcome === 'failed') result.failed++;
      else result.dropped++;
    }
    return result;
  }

  /** The breaker around the OCR engine: `open` while it is failing. */
  breakerState() {
    return this.#deps.policy.state();
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** A new job was queued: look now rather than at the next poll. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) this.#again = true;
    else this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.drainOnce()
        .catch((error: unknown) => this.#deps.observability.logger.error({ err: error }, 'OCR worker pass failed'))
        .finally(() => {
          this.#running = undefined;
          if (this.#stopped) return;
          const again = this.#again;
          this.#again = false;
          this.#schedule(again ? 0 : this.#deps.settings.pollIntervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  async #process(job: OcrJob): Promise<'auto_verified' | 'flagged_for_review' | 'stale' | 'failed'> {
    const { profiles, blobs, provider, policy, service, observability, clock, settings } = this.#deps;
    const profile = await profiles.find(job.userId);
    const front = profile?.photos.licenceFront;
    if (!profile || profile.status !== 'pending' || profile.submissionId !== job.submissionId || !front) {
      return service.applyOcrReading({ userId: job.userId, submissionId: job.submissionId, provider: provider.name, reading: emptyReading });
    }
    const ctx = createBackgroundContext(observability, 'ocr read', { budgetMs: settings.timeoutMs + 10_000, clock });
    try {
      // No end-user token: the blob service lets a platform service read a rider's photo.
      const content = await blobs.ReadContent({ blobId: front }, ctx);
      const image = Buffer.from(content.contentBase64, 'base64');
      const timeout = AbortSignal.timeout(settings.timeoutMs);
      // The breaker reads the wall clock (cockatiel), so its deadline does too.
      const text = await policy.execute((signal) => provider.read(image, AbortSignal.any([signal, timeout])), {
        idempotent: false,
        signal: timeout,
        deadline: systemClock.now() + settings.timeoutMs,
      });
      return await service.applyOcrReading({ userId: job.userId, submissionId: job.submissionId, provider: provider.name, reading: parseLicenceText(text.text) });
    } catch (error) {
      const attempts = job.attempts + 1;
      const waitMs = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** (attempts - 1));
      const message = error instanceof Error ? error.message : String(error);
      // Ids and the error only: never the reading, which holds the licence number.
      ctx.log.warn({ submissionId: job.submissionId, attempts, retryInMs: waitMs, error: message }, 'OCR read failed; the submission waits in the review queue');
      await service.recordOcrFailure({ userId: job.userId, submissionId: job.submissionId, attempts, error: message, retryAt: clock.now() + waitMs });
      return 'failed';
    } finally {
      ctx.dispose();
    }
  }
}

const emptyReading = {
  licenceNumber: null,
  surname: null,
  givenNames: null,
  birthDate: null,
  classes: null,
  issuedOn: null,
  expiresOn: null,
  issuingCountry: null,
};
