import { Type, type Static, type TSchema } from 'typebox';
import { BlobContentType, BlobId, BlobRecord, SignedUrl } from './blob.ts';
import { Cursor, PageLimit, UserId } from './user.ts';
import { deadLetterRpcMethods } from './dead-letters.ts';
import { defineRpcService } from './define-rpc-service.ts';

const strict = { additionalProperties: false } as const;

function orNull<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** A calendar date, `YYYY-MM-DD`: licences print dates, not instants. */
export const CalendarDate = Type.String({ format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

/**
 * What a rider types from their licence. Personal data: only the owner and operators read it, and
 * it is never logged (licence number and birth date above all).
 */
export const LicenceFields = Type.Object(
  {
    /** Upper-case letters and digits, as printed without spaces. */
    licenceNumber: Type.String({ pattern: '^[A-Z0-9]{5,20}$' }),
    surname: Type.String({ minLength: 1, maxLength: 80 }),
    givenNames: Type.String({ minLength: 1, maxLength: 120 }),
    birthDate: CalendarDate,
    /** Vehicle categories (B, AM, C1E, …). */
    classes: Type.Array(Type.String({ pattern: '^[A-Z][A-Z0-9]{0,3}$' }), { minItems: 1, maxItems: 16, uniqueItems: true }),
    issuedOn: CalendarDate,
    expiresOn: CalendarDate,
    /** ISO 3166-1 alpha-2. */
    issuingCountry: Type.String({ pattern: '^[A-Z]{2}$' }),
  },
  strict,
);
export type LicenceFields = Static<typeof LicenceFields>;

export const LicenceField = Type.Union([
  Type.Literal('licenceNumber'),
  Type.Literal('surname'),
  Type.Literal('givenNames'),
  Type.Literal('birthDate'),
  Type.Literal('classes'),
  Type.Literal('issuedOn'),
  Type.Literal('expiresOn'),
  Type.Literal('issuingCountry'),
]);
export type LicenceField = Static<typeof LicenceField>;

/** The photos a profile needs: purposes accepted by CreatePhotoUpload. */
export const ProfilePhotoPurpose = Type.Union([Type.Literal('licence_front'), Type.Literal('licence_back'), Type.Literal('selfie')]);
export type ProfilePhotoPurpose = Static<typeof ProfilePhotoPurpose>;

export const ProfilePhotos = Type.Object({
  licenceFront: orNull(BlobId),
  licenceBack: orNull(BlobId),
  selfie: orNull(BlobId),
});

export const ProfileStatus = Type.Union([Type.Literal('unsubmitted'), Type.Literal('pending'), Type.Literal('verified'), Type.Literal('rejected')]);
export type ProfileStatus = Static<typeof ProfileStatus>;

/** Why an operator refuses a licence: a fixed list (free text goes beside it). */
export const RejectionReason = Type.Union([
  Type.Literal('photo_unreadable'),
  Type.Literal('fields_do_not_match'),
  Type.Literal('licence_expired'),
  Type.Literal('selfie_does_not_match'),
  Type.Literal('underage'),
  Type.Literal('document_not_accepted'),
  Type.Literal('suspected_forgery'),
  Type.Literal('other'),
]);
export type RejectionReason = Static<typeof RejectionReason>;

export const FieldNote = Type.Object({ field: LicenceField, note: Type.String({ minLength: 1, maxLength: 500 }) }, strict);
export type FieldNote = Static<typeof FieldNote>;

export const Rejection = Type.Object({
  reason: RejectionReason,
  text: Type.String(),
  fieldNotes: Type.Array(FieldNote),
  rejectedAt: Type.String({ format: 'date-time' }),
});

/** The profile as its owner (or an operator) sees it; status and review fields are read-only. */
export const Profile = Type.Object({
  userId: UserId,
  status: ProfileStatus,
  fields: orNull(LicenceFields),
  photos: ProfilePhotos,
  submittedAt: orNull(Type.String({ format: 'date-time' })),
  verifiedAt: orNull(Type.String({ format: 'date-time' })),
  /** `ocr` when the reading matched every field, `operator` after a review. */
  verifiedBy: orNull(Type.Union([Type.Literal('ocr'), Type.Literal('operator')])),
  rejection: orNull(Rejection),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Profile = Static<typeof Profile>;

/**
 * One thing that kept a submission from auto-verification, for one field: the OCR read something
 * else (`differs`) or nothing (`unreadable`), or the entered value breaks a rule.
 */
export const FieldProblem = Type.Object({
  field: LicenceField,
  problem: Type.Union([
    Type.Literal('differs'),
    Type.Literal('unreadable'),
    Type.Literal('underage'),
    Type.Literal('expired'),
    Type.Literal('expires_too_soon'),
    Type.Literal('not_yet_issued'),
  ]),
  entered: Type.String(),
  read: orNull(Type.String()),
});
export type FieldProblem = Static<typeof FieldProblem>;

/** What the OCR read, field by field (null where nothing was found). */
export const OcrReading = Type.Object({
  licenceNumber: orNull(Type.String()),
  surname: orNull(Type.String()),
  givenNames: orNull(Type.String()),
  birthDate: orNull(Type.String()),
  classes: orNull(Type.String()),
  issuedOn: orNull(Type.String()),
  expiresOn: orNull(Type.String()),
  issuingCountry: orNull(Type.String()),
});
export type OcrReading = Static<typeof OcrReading>;

/**
 * The machine's part of a review. `waiting`: not read yet (or the OCR provider is down and the
 * worker will try again); `read`: `reading` and `problems` are filled in.
 */
export const OcrResult = Type.Object({
  state: Type.Union([Type.Literal('waiting'), Type.Literal('read')]),
  provider: orNull(Type.String()),
  reading: orNull(OcrReading),
  problems: Type.Array(FieldProblem),
  attempts: Type.Integer({ minimum: 0 }),
  lastError: orNull(Type.String()),
  readAt: orNull(Type.String({ format: 'date-time' })),
});

export const ReviewAction = Type.Union([
  Type.Literal('submitted'),
  Type.Literal('auto_verified'),
  Type.Literal('flagged_for_review'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('expired'),
  Type.Literal('cleared'),
]);

/** One audited decision: who (an operator, the rider, or the system), when, what. */
export const AuditEntry = Type.Object({
  id: Type.String({ format: 'uuid' }),
  userId: UserId,
  action: ReviewAction,
  actorId: orNull(UserId),
  actorKind: Type.Union([Type.Literal('rider'), Type.Literal('operator'), Type.Literal('system')]),
  detail: Type.Record(Type.String(), Type.Unknown()),
  at: Type.String({ format: 'date-time' }),
});

export const ReviewQueueItem = Type.Object({
  userId: UserId,
  status: ProfileStatus,
  surname: Type.String(),
  givenNames: Type.String(),
  submittedAt: Type.String({ format: 'date-time' }),
  ocrState: Type.Union([Type.Literal('waiting'), Type.Literal('read')]),
  problemCount: Type.Integer({ minimum: 0 }),
});

export const ReviewQueueQuery = Type.Object(
  {
    limit: PageLimit,
    cursor: Type.Optional(Cursor),
    /** Only this status; without it every submitted profile, `pending` first. */
    status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('verified'), Type.Literal('rejected')])),
  },
  strict,
);

export const ReviewQueuePage = Type.Object({ items: Type.Array(ReviewQueueItem), nextCursor: orNull(Type.String()) });

export const ProfilePhotoUrls = Type.Object({
  licenceFront: orNull(SignedUrl),
  licenceBack: orNull(SignedUrl),
  selfie: orNull(SignedUrl),
});

export const ReviewCase = Type.Object({
  profile: Profile,
  ocr: OcrResult,
  photoUrls: ProfilePhotoUrls,
  history: Type.Array(AuditEntry),
});

/** The only body PutMyProfile accepts: anything else (status, review fields) is a 400. */
export const PutProfileBody = Type.Object({ fields: LicenceFields }, strict);

export const PhotoUploadBody = Type.Object(
  { purpose: ProfilePhotoPurpose, contentType: BlobContentType, sizeBytes: Type.Integer({ minimum: 1 }) },
  strict,
);
export const PhotoUpload = Type.Object({ blob: BlobRecord, upload: SignedUrl });

export const RejectBody = Type.Object(
  {
    reason: RejectionReason,
    text: Type.String({ maxLength: 1000, default: '' }),
    fieldNotes: Type.Array(FieldNote, { maxItems: 8, default: [] }),
  },
  strict,
);
export const ApproveBody = Type.Object({ note: Type.String({ maxLength: 1000, default: '' }) }, strict);

const ForUser = Type.Object({ userId: UserId }, strict);
const callerErrors = ['AUTHENTICATION_REQUIRED'] as const;

/**
 * The profile service's RPC contract. The "My" methods act on the caller's own profile; the
 * review methods are for operators (OPERATOR_ONLY); IsVerified is for the trip service (acting for
 * the rider or for itself), the owner and operators: another rider gets PROFILE_NOT_FOUND. Every
 * method but IsVerified is called by the gateway only.
 */
export const profileRpc = defineRpcService('profile', {
  GetMyProfile: {
    summary: "The caller's licence profile (an empty unsubmitted one before the first PutMyProfile)",
    input: Type.Object({}, strict),
    output: Profile,
    idempotent: true,
    errors: [...callerErrors],
  },
  PutMyProfile: {
    summary: 'Replace the licence fields; a verified profile goes back to unsubmitted, a pending one cannot change',
    input: PutProfileBody,
    output: Profile,
    idempotent: true,
    errors: [...callerErrors, 'PROFILE_UNDER_REVIEW', 'INVALID_LICENCE_DATES'],
  },
  CreatePhotoUpload: {
    summary: 'A signed upload URL for a licence photo or selfie, attached to the profile (replacing the previous one)',
    input: PhotoUploadBody,
    output: PhotoUpload,
    idempotent: false,
    errors: [...callerErrors, 'PROFILE_UNDER_REVIEW', 'BLOB_TOO_LARGE'],
  },
  Submit: {
    summary: 'Send the profile for verification: OCR first, then an operator if the machine cannot decide',
    input: Type.Object({}, strict),
    output: Profile,
    idempotent: false,
    errors: [...callerErrors, 'PROFILE_INCOMPLETE', 'PHOTO_NOT_UPLOADED', 'PHOTO_REJECTED', 'INVALID_PROFILE_TRANSITION'],
  },
  DeleteMyProfile: {
    summary: 'Erase the profile and its photos (records and bytes in the object store)',
    input: Type.Object({}, strict),
    output: Type.Object({ deletedPhotos: Type.Integer({ minimum: 0 }) }),
    idempotent: true,
    errors: [...callerErrors],
  },
  IsVerified: {
    summary: 'Whether a user may drive now: verified and the licence not expired',
    input: ForUser,
    output: Type.Object({ userId: UserId, verified: Type.Boolean(), expiresOn: orNull(CalendarDate) }),
    idempotent: true,
    errors: ['PROFILE_NOT_FOUND'],
    // The trip service asks before a trip starts (ADR 0012 service identities).
    callers: ['gateway', 'trip'],
  },
  ListReviewQueue: {
    summary: 'Operators: submitted profiles, pending first, oldest submission first',
    input: ReviewQueueQuery,
    output: ReviewQueuePage,
    idempotent: true,
    errors: [...callerErrors, 'OPERATOR_ONLY', 'INVALID_CURSOR'],
  },
  GetForReview: {
    summary: 'Operators: a profile beside its OCR reading, the problems per field, photo URLs and its history',
    input: ForUser,
    output: ReviewCase,
    idempotent: true,
    errors: [...callerErrors, 'OPERATOR_ONLY', 'PROFILE_NOT_FOUND'],
  },
  Approve: {
    summary: 'Operators: verify a pending profile',
    input: Type.Object({ userId: UserId, note: Type.String({ maxLength: 1000, default: '' }) }, strict),
    output: Profile,
    idempotent: false,
    errors: [...callerErrors, 'OPERATOR_ONLY', 'PROFILE_NOT_FOUND', 'INVALID_PROFILE_TRANSITION'],
  },
  Reject: {
    summary: 'Operators: reject a pending profile with a reason from the list, free text and per-field notes',
    input: Type.Object({ userId: UserId, ...RejectBody.properties }, strict),
    output: Profile,
    idempotent: false,
    errors: [...callerErrors, 'OPERATOR_ONLY', 'PROFILE_NOT_FOUND', 'INVALID_PROFILE_TRANSITION'],
  },
  // The OCR consumer group's dead letters, for /v1/admin/dead-letters.
  ...deadLetterRpcMethods,
});
