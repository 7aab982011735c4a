import {
  ProfileExpired,
  ProfileRejected,
  ProfileSubmitted,
  ProfileVerified,
  isStaff,
  type FieldNote,
  type LicenceFields,
  type OcrReading,
  type ProfilePhotoPurpose,
  type RejectionReason,
  type RpcOutput,
  type blobRpc,
} from '@carshare/contracts';
import type { EventFactory } from '@carshare/messaging';
import { AppError, Conflict, NotFound, PermissionDenied, Unauthenticated, type CallContext, type Caller, type Clock, type IdGenerator } from '@carshare/platform';
import { assessSubmission } from './domain/auto-verification.ts';
import { calendarDateOf } from './domain/calendar-date.ts';
import {
  cleanLicenceFields,
  emptyProfile,
  mayReadProfile,
  missingForSubmission,
  nextStatus,
  noOcrYet,
  photoSlotOf,
  type LicenceProfile,
  type ProfilePhotos,
} from './domain/licence-profile.ts';
import type { AuditAction, AuditEntry, AuditLog, BlobClient, ProfileStore, ProfileTransaction, ReviewQueuePage, UnitOfWork } from './ports.ts';

export interface ProfileServiceDeps {
  profiles: ProfileStore;
  audit: AuditLog;
  unitOfWork: UnitOfWork;
  blobs: BlobClient;
  events: EventFactory;
  clock: Clock;
  ids: IdGenerator;
  verification: { minimumValidityDays: number; minimumAge: number };
}

type SignedUrl = RpcOutput<(typeof blobRpc.methods)['GetDownloadUrl']>;

export interface ReviewCase {
  profile: LicenceProfile;
  photoUrls: Record<keyof ProfilePhotos, SignedUrl | null>;
  history: AuditEntry[];
}

export type OcrApplied = 'auto_verified' | 'flagged_for_review' | 'stale';

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  return caller;
}

function requireOperator(caller: Caller | undefined): Caller {
  const operator = requireCaller(caller);
  if (!isStaff(operator.role)) throw PermissionDenied('OPERATOR_ONLY', 'only operators review licences');
  return operator;
}

function profileNotFound(userId: string): AppError {
  return NotFound('PROFILE_NOT_FOUND', `no profile for user ${userId}`, { userId });
}

function hasReason(error: unknown, ...reasons: string[]): boolean {
  return error instanceof AppError && reasons.includes(error.reason);
}

/** The profile service's use cases: each takes what the caller sent and who the caller is. */
export function createProfileService(deps: ProfileServiceDeps) {
  const { profiles, audit, unitOfWork, blobs, events, clock, ids } = deps;

  function audited(tx: ProfileTransaction, userId: string, action: AuditAction, actor: Caller | undefined, detail: Record<string, unknown>): Promise<void> {
    const actorKind = actor === undefined ? 'system' : isStaff(actor.role) ? 'operator' : 'rider';
    return tx.audit.record({ id: ids.next(), userId, action, actorId: actor?.userId ?? null, actorKind, detail, at: clock.now() });
  }

  /** Changing a verified licence (fields or a photo) ends the verification: it must be checked again. */
  function editable(profile: LicenceProfile): LicenceProfile {
    if (profile.status === 'pending') {
      throw Conflict('PROFILE_UNDER_REVIEW', 'the profile is being reviewed; wait for the decision before changing it', { status: profile.status });
    }
    if (profile.status !== 'verified') return profile;
    return { ...profile, status: nextStatus(profile.status, 'rider_edits'), verifiedAt: null, verifiedBy: null };
  }

  async function deleteBlobIfPresent(blobId: string, ctx: CallContext): Promise<boolean> {
    try {
      await blobs.Delete({ blobId }, ctx);
      return true;
    } catch (error) {
      // Already gone (a retried deletion): the outcome the caller wants.
      if (hasReason(error, 'BLOB_NOT_FOUND')) return false;
      throw error;
    }
  }

  async function completeUpload(slot: keyof ProfilePhotos, blobId: string, ctx: CallContext): Promise<void> {
    try {
      await blobs.CompleteUpload({ blobId }, ctx);
    } catch (error) {
      if (hasReason(error, 'BLOB_NOT_FOUND', 'BLOB_NOT_UPLOADED')) {
        throw Conflict('PHOTO_NOT_UPLOADED', `upload the ${slot} photo before submitting`, { photo: slot });
      }
      if (hasReason(error, 'BLOB_REJECTED', 'BLOB_TOO_LARGE')) {
        throw Conflict('PHOTO_REJECTED', `the ${slot} photo was refused; upload it again as JPEG, PNG or WebP`, { photo: slot });
      }
      throw error;
    }
  }

  async function decide(userId: string, operator: Caller, decision: (profile: LicenceProfile, tx: ProfileTransaction) => Promise<LicenceProfile>): Promise<LicenceProfile> {
    return unitOfWork.run(async (tx) => {
      const profile = await tx.profiles.findForUpdate(userId);
      if (!profile) throw profileNotFound(userId);
      const decided = await decision(profile, tx);
      await tx.profiles.save(decided);
      if (profile.submissionId) await tx.ocrJobs.remove(profile.submissionId);
      return decided;
    });
  }

  return {
    async getMyProfile(caller: Caller | undefined): Promise<LicenceProfile> {
      const owner = requireCaller(caller);
      return (await profiles.find(owner.userId)) ?? emptyProfile(owner.userId, clock.now());
    },

    async putMyProfile(input: { fields: LicenceFields }, caller: Caller | undefined): Promise<LicenceProfile> {
      const owner = requireCaller(caller);
      const fields = cleanLicenceFields(input.fields);
      return unitOfWork.run(async (tx) => {
        const current = (await tx.profiles.findForUpdate(owner.userId)) ?? emptyProfile(owner.userId, clock.now());
        const edited = editable(current);
        if (current.status === 'verified') await audited(tx, owner.userId, 'cleared', owner, { because: 'fields_changed' });
        const updated = { ...edited, fields, updatedAt: clock.now() };
        await tx.profiles.save(updated);
        return updated;
      });
    },

    async createPhotoUpload(input: { purpose: ProfilePhotoPurpose; contentType: 'image/jpeg' | 'image/png' | 'image/webp' | 'application/pdf'; sizeBytes: number }, ctx: CallContext) {
      const owner = requireCaller(ctx.caller);
      const before = await profiles.find(owner.userId);
      if (before) editable(before);
      const created = await blobs.CreateUpload({ purpose: input.purpose, contentType: input.contentType, sizeBytes: input.sizeBytes }, ctx);
      const slot = photoSlotOf[input.purpose];
      const replaced = await unitOfWork.run(async (tx) => {
        const current = (await tx.profiles.findForUpdate(owner.userId)) ?? emptyProfile(owner.userId, clock.now());
        const edited = editable(current);
        if (current.status === 'verified') await audited(tx, owner.userId, 'cleared', owner, { because: 'photo_replaced', photo: slot });
        await tx.profiles.save({ ...edited, photos: { ...edited.photos, [slot]: created.blob.id }, updatedAt: clock.now() });
        return current.photos[slot];
      });
      // After the commit: the profile no longer points at the old photo, so its bytes can go.
      if (replaced !== null && replaced !== created.blob.id) await deleteBlobIfPresent(replaced, ctx);
      return created;
    },

    async submit(ctx: CallContext): Promise<LicenceProfile> {
      const owner = requireCaller(ctx.caller);
      const profile = (await profiles.find(owner.userId)) ?? emptyProfile(owner.userId, clock.now());
      nextStatus(profile.status, 'submit');
      const missing = missingForSubmission(profile);
      if (missing.length > 0) throw Conflict('PROFILE_INCOMPLETE', `add ${missing.join(', ')} before submitting`, { missing });
      // The blob service checks the bytes (magic numbers, size) and strips metadata here, once.
      for (const [slot, blobId] of Object.entries(profile.photos) as Array<[keyof ProfilePhotos, string]>) await completeUpload(slot, blobId, ctx);
      return unitOfWork.run(async (tx) => {
        const current = await tx.profiles.findForUpdate(owner.userId);
        if (!current || missingForSubmission(current).length > 0) throw Conflict('PROFILE_INCOMPLETE', 'the profile changed while it was being submitted; submit again', {});
        const submissionId = ids.next();
        const submitted: LicenceProfile = {
          ...current,
          status: nextStatus(current.status, 'submit'),
          submissionId,
          submittedAt: clock.now(),
          rejection: null,
          ocr: noOcrYet,
          updatedAt: clock.now(),
        };
        await tx.profiles.save(submitted);
        await audited(tx, owner.userId, 'submitted', owner, { submissionId, resubmission: current.status === 'rejected' });
        await tx.events.add(events.create(ProfileSubmitted, owner.userId, { userId: owner.userId, submissionId }));
        return submitted;
      });
    },

    /** Erases the profile and its photos: the blob service deletes the bytes in the object store. */
    async deleteMyProfile(ctx: CallContext): Promise<{ deletedPhotos: number }> {
      const owner = requireCaller(ctx.caller);
      const profile = await profiles.find(owner.userId);
      if (!profile) return { deletedPhotos: 0 };
      // Photos first: if this fails half-way the profile still lists what is left, and a retry finishes.
      let deletedPhotos = 0;
      for (const blobId of [profile.photos.licenceFront, profile.photos.licenceBack, profile.photos.selfie]) if (blobId !== null && (await deleteBlobIfPresent(blobId, ctx))) deletedPhotos++;
      await unitOfWork.run(async (tx) => {
        await tx.profiles.delete(owner.userId);
        if (profile.submissionId) await tx.ocrJobs.remove(profile.submissionId);
        await audited(tx, owner.userId, 'cleared', owner, { because: 'profile_deleted', deletedPhotos });
      });
      return { deletedPhotos };
    },

    /** For the trip service (no end-user token), the owner and operators; other riders get a 404. */
    async isVerified(input: { userId: string }, caller: Caller | undefined): Promise<{ userId: string; verified: boolean; expiresOn: string | null }> {
      if (caller && !mayReadProfile(input.userId, { userId: caller.userId, staff: isStaff(caller.role) })) throw profileNotFound(input.userId);
      const profile = await profiles.find(input.userId);
      const expiresOn = profile?.fields?.expiresOn ?? null;
      const verified = profile?.status === 'verified' && expiresOn !== null && expiresOn >= calendarDateOf(clock.now());
      return { userId: input.userId, verified, expiresOn: verified ? expiresOn : null };
    },

    async listReviewQueue(input: { limit: number; cursor?: string | undefined; status?: 'pending' | 'verified' | 'rejected' | undefined }, caller: Caller | undefined): Promise<ReviewQueuePage> {
      requireOperator(caller);
      return profiles.reviewQueue({ limit: input.limit, cursor: input.cursor, status: input.status });
    },

    async getForReview(input: { userId: string }, ctx: CallContext): Promise<ReviewCase> {
      requireOperator(ctx.caller);
      const profile = await profiles.find(input.userId);
      if (!profile) throw profileNotFound(input.userId);
      const photoUrls: Record<keyof ProfilePhotos, SignedUrl | null> = { licenceFront: null, licenceBack: null, selfie: null };
      for (const [slot, blobId] of Object.entries(profile.photos) as Array<[keyof ProfilePhotos, string | null]>) {
        if (blobId === null) continue;
        try {
          photoUrls[slot] = await blobs.GetDownloadUrl({ blobId }, ctx);
        } catch (error) {
          // A photo never uploaded (or erased) shows as missing, beside the rest of the case.
          if (!hasReason(error, 'BLOB_NOT_FOUND', 'BLOB_NOT_UPLOADED')) throw error;
        }
      }
      return { profile, photoUrls, history: await audit.historyOf(input.userId, 100) };
    },

    async approve(input: { userId: string; note: string }, caller: Caller | undefined): Promise<LicenceProfile> {
      const operator = requireOperator(caller);
      return decide(input.userId, operator, async (profile, tx) => {
        const status = nextStatus(profile.status, 'approve');
        const { fields, submissionId } = profile as LicenceProfile & { fields: LicenceFields; submissionId: string };
        await audited(tx, profile.userId, 'approved', operator, { submissionId, note: input.note });
        await tx.events.add(events.create(ProfileVerified, profile.userId, { userId: profile.userId, submissionId, by: 'operator', expiresOn: fields.expiresOn }));
        return { ...profile, status, verifiedAt: clock.now(), verifiedBy: 'operator', updatedAt: clock.now() };
      });
    },

    async reject(input: { userId: string; reason: RejectionReason; text: string; fieldNotes: FieldNote[] }, caller: Caller | undefined): Promise<LicenceProfile> {
      const operator = requireOperator(caller);
      return decide(input.userId, operator, async (profile, tx) => {
        const status = nextStatus(profile.status, 'reject');
        const submissionId = profile.submissionId as string;
        const rejection = { reason: input.reason, text: input.text, fieldNotes: input.fieldNotes, rejectedAt: clock.now() };
        await audited(tx, profile.userId, 'rejected', operator, { submissionId, reason: input.reason, text: input.text, fieldNotes: input.fieldNotes });
        await tx.events.add(events.create(ProfileRejected, profile.userId, { userId: profile.userId, submissionId, reason: input.reason }));
        return { ...profile, status, rejection, updatedAt: clock.now() };
      });
    },

    /**
     * The OCR worker's result for one submission: auto-verified when the rule allows, else left
     * pending with the problems for an operator. A reading for an older submission, or for a
     * profile a human already decided, is dropped.
     */
    async applyOcrReading(input: { userId: string; submissionId: string; provider: string; reading: OcrReading }): Promise<OcrApplied> {
      return unitOfWork.run(async (tx) => {
        const profile = await tx.profiles.findForUpdate(input.userId);
        await tx.ocrJobs.remove(input.submissionId);
        if (!profile || profile.status !== 'pending' || profile.submissionId !== input.submissionId || !profile.fields) return 'stale';
        const { autoVerifiable, problems } = assessSubmission(profile.fields, input.reading, { today: calendarDateOf(clock.now()), ...deps.verification });
        const ocr = { state: 'read' as const, provider: input.provider, reading: input.reading, problems, attempts: profile.ocr.attempts + 1, lastError: null, readAt: clock.now() };
        // The audit names fields and problems only: the values (licence number, birth date) stay in the profile.
        const problemSummary = problems.map(({ field, problem }) => ({ field, problem }));
        if (autoVerifiable) {
          await tx.profiles.save({ ...profile, status: nextStatus(profile.status, 'auto_verify'), verifiedAt: clock.now(), verifiedBy: 'ocr', ocr, updatedAt: clock.now() });
          await audited(tx, profile.userId, 'auto_verified', undefined, { submissionId: input.submissionId, provider: input.provider });
          await tx.events.add(
            events.create(ProfileVerified, profile.userId, { userId: profile.userId, submissionId: input.submissionId, by: 'ocr', expiresOn: profile.fields.expiresOn }),
          );
          return 'auto_verified';
        }
        await tx.profiles.save({ ...profile, ocr, updatedAt: clock.now() });
        await audited(tx, profile.userId, 'flagged_for_review', undefined, { submissionId: input.submissionId, provider: input.provider, problems: problemSummary });
        return 'flagged_for_review';
      });
    },

    /** The OCR could not read this time: the profile shows why and waits in the queue; the job retries at `retryAt`. */
    async recordOcrFailure(input: { userId: string; submissionId: string; attempts: number; error: string; retryAt: number }): Promise<void> {
      await unitOfWork.run(async (tx) => {
        const profile = await tx.profiles.findForUpdate(input.userId);
        if (!profile || profile.status !== 'pending' || profile.submissionId !== input.submissionId) {
          await tx.ocrJobs.remove(input.submissionId);
          return;
        }
        await tx.profiles.save({ ...profile, ocr: { ...profile.ocr, attempts: input.attempts, lastError: input.error } });
        await tx.ocrJobs.retryAt(input.submissionId, input.attempts, input.retryAt);
      });
    },

    /** A verification ends with the licence: expired verified profiles go back to unsubmitted. */
    async expireVerifications(limit = 100): Promise<number> {
      const today = calendarDateOf(clock.now());
      const candidates = await profiles.verifiedExpiredBefore(today, limit);
      let expired = 0;
      for (const candidate of candidates) {
        expired += await unitOfWork.run(async (tx) => {
          const profile = await tx.profiles.findForUpdate(candidate.userId);
          if (!profile || profile.status !== 'verified' || !profile.fields || profile.fields.expiresOn >= today) return 0;
          await tx.profiles.save({ ...profile, status: nextStatus(profile.status, 'licence_expired'), verifiedAt: null, verifiedBy: null, updatedAt: clock.now() });
          await audited(tx, profile.userId, 'expired', undefined, { expiredOn: profile.fields.expiresOn });
          await tx.events.add(events.create(ProfileExpired, profile.userId, { userId: profile.userId, expiredOn: profile.fields.expiresOn }));
          return 1;
        });
      }
      return expired;
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
