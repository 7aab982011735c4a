import type { deadLetterRpcMethods, profileRpc } from '@carshare/contracts';
import type { RpcHandlers } from '@carshare/platform';
import type { LicenceProfile } from '../domain/licence-profile.ts';
import type { AuditEntry } from '../ports.ts';
import type { ProfileService } from '../profile-service.ts';

function isoOrNull(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}

export function toWireProfile(profile: LicenceProfile) {
  return {
    userId: profile.userId,
    status: profile.status,
    fields: profile.fields,
    photos: profile.photos,
    submittedAt: isoOrNull(profile.submittedAt),
    verifiedAt: isoOrNull(profile.verifiedAt),
    verifiedBy: profile.verifiedBy,
    rejection: profile.rejection && { ...profile.rejection, rejectedAt: new Date(profile.rejection.rejectedAt).toISOString() },
    updatedAt: new Date(profile.updatedAt).toISOString(),
  };
}

function toWireOcr(profile: LicenceProfile) {
  return { ...profile.ocr, readAt: isoOrNull(profile.ocr.readAt) };
}

function toWireAudit(entry: AuditEntry) {
  return { ...entry, at: new Date(entry.at).toISOString() };
}

function toQueueItem(profile: LicenceProfile) {
  return {
    userId: profile.userId,
    status: profile.status,
    surname: profile.fields?.surname ?? '',
    givenNames: profile.fields?.givenNames ?? '',
    submittedAt: new Date(profile.submittedAt ?? profile.updatedAt).toISOString(),
    ocrState: profile.ocr.state,
    problemCount: profile.ocr.problems.length,
  };
}

/** The dead-letter methods are the messaging library's (deadLetterRpcHandlers). */
type ProfileMethods = Omit<typeof profileRpc.methods, keyof typeof deadLetterRpcMethods>;

/** Parse → one use case → map; validation and errors are the RPC server's. */
export function profileRpcHandlers(service: ProfileService): RpcHandlers<ProfileMethods> {
  return {
    GetMyProfile: async (_input, ctx) => toWireProfile(await service.getMyProfile(ctx.caller)),
    PutMyProfile: async (input, ctx) => toWireProfile(await service.putMyProfile(input, ctx.caller)),
    CreatePhotoUpload: (input, ctx) => service.createPhotoUpload(input, ctx),
    Submit: async (_input, ctx) => toWireProfile(await service.submit(ctx)),
    DeleteMyProfile: (_input, ctx) => service.deleteMyProfile(ctx),
    IsVerified: (input, ctx) => service.isVerified(input, ctx.caller),
    ListReviewQueue: async (input, ctx) => {
      const page = await service.listReviewQueue(input, ctx.caller);
      return { items: page.items.map(toQueueItem), nextCursor: page.nextCursor ?? null };
    },
    GetForReview: async (input, ctx) => {
      const review = await service.getForReview(input, ctx);
      return { profile: toWireProfile(review.profile), ocr: toWireOcr(review.profile), photoUrls: review.photoUrls, history: review.history.map(toWireAudit) };
    },
    Approve: async (input, ctx) => toWireProfile(await service.approve(input, ctx.caller)),
    Reject: async (input, ctx) => toWireProfile(await service.reject(input, ctx.caller)),
  };
}
