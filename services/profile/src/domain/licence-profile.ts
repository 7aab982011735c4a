import type { FieldNote, LicenceFields, OcrReading, ProfilePhotoPurpose, ProfileStatus, RejectionReason, FieldProblem } from '@carshare/contracts';
import { Conflict, InvalidArgument } from '@carshare/platform';
import { isCalendarDate } from './calendar-date.ts';

export type { FieldProblem, LicenceFields, OcrReading, ProfileStatus, RejectionReason };

/** What moves a profile from one status to another. */
export type ProfileTrigger = 'submit' | 'auto_verify' | 'approve' | 'reject' | 'rider_edits' | 'licence_expired';

/**
 * The Profile state machine of DOMAIN.md as data: per trigger, the statuses it may start from
 * and the one it leads to. A rejected rider resubmits (`rejected → pending`); a verified rider
 * who changes their licence, or whose licence expires, starts again (`verified → unsubmitted`).
 */
export const profileTransitions: Readonly<Record<ProfileTrigger, { from: readonly ProfileStatus[]; to: ProfileStatus }>> = {
  submit: { from: ['unsubmitted', 'rejected'], to: 'pending' },
  auto_verify: { from: ['pending'], to: 'verified' },
  approve: { from: ['pending'], to: 'verified' },
  reject: { from: ['pending'], to: 'rejected' },
  rider_edits: { from: ['verified'], to: 'unsubmitted' },
  licence_expired: { from: ['verified'], to: 'unsubmitted' },
};

export const profileStatuses: readonly ProfileStatus[] = ['unsubmitted', 'pending', 'verified', 'rejected'];
export const profileTriggers = Object.keys(profileTransitions) as ProfileTrigger[];

/** The status `trigger` leads to from `status`, or a 409 naming the current status. */
export function nextStatus(status: ProfileStatus, trigger: ProfileTrigger): ProfileStatus {
  const rule = profileTransitions[trigger];
  if (!rule.from.includes(status)) {
    throw Conflict('INVALID_PROFILE_TRANSITION', `a ${status} profile cannot ${trigger.replace('_', ' ')}`, { status, trigger });
  }
  return rule.to;
}

export interface ProfilePhotos {
  licenceFront: string | null;
  licenceBack: string | null;
  selfie: string | null;
}

export const photoSlotOf: Readonly<Record<ProfilePhotoPurpose, keyof ProfilePhotos>> = {
  licence_front: 'licenceFront',
  licence_back: 'licenceBack',
  selfie: 'selfie',
};

export interface Rejection {
  reason: RejectionReason;
  text: string;
  fieldNotes: FieldNote[];
  rejectedAt: number;
}

/** The machine's part of the current submission. */
export interface OcrOutcome {
  state: 'waiting' | 'read';
  provider: string | null;
  reading: OcrReading | null;
  problems: FieldProblem[];
  attempts: number;
  lastError: string | null;
  readAt: number | null;
}

export const noOcrYet: OcrOutcome = Object.freeze({ state: 'waiting', provider: null, reading: null, problems: [], attempts: 0, lastError: null, readAt: null });

/** Times are epoch milliseconds; the wire form is ISO-8601. */
export interface LicenceProfile {
  userId: string;
  status: ProfileStatus;
  fields: LicenceFields | null;
  photos: ProfilePhotos;
  /** Names the current submission: OCR results for an older one are dropped. */
  submissionId: string | null;
  submittedAt: number | null;
  verifiedAt: number | null;
  verifiedBy: 'ocr' | 'operator' | null;
  rejection: Rejection | null;
  ocr: OcrOutcome;
  updatedAt: number;
}

export function emptyProfile(userId: string, now: number): LicenceProfile {
  return {
    userId,
    status: 'unsubmitted',
    fields: null,
    photos: { licenceFront: null, licenceBack: null, selfie: null },
    submissionId: null,
    submittedAt: null,
    verifiedAt: null,
    verifiedBy: null,
    rejection: null,
    ocr: noOcrYet,
    updatedAt: now,
  };
}

/**
 * Checks what the schema cannot: real calendar dates in a sensible order. Names are trimmed and
 * their inner blanks collapsed, since the OCR comparison ignores them anyway.
 */
export function cleanLicenceFields(fields: LicenceFields): LicenceFields {
  for (const field of ['birthDate', 'issuedOn', 'expiresOn'] as const) {
    if (!isCalendarDate(fields[field])) throw InvalidArgument('INVALID_LICENCE_DATES', `${field} is not a calendar date`, { field });
  }
  if (fields.issuedOn >= fields.expiresOn) throw InvalidArgument('INVALID_LICENCE_DATES', 'a licence expires after it is issued', { field: 'expiresOn' });
  if (fields.birthDate >= fields.issuedOn) throw InvalidArgument('INVALID_LICENCE_DATES', 'a licence is issued after its holder is born', { field: 'issuedOn' });
  const tidy = (name: string) => name.trim().replace(/\s+/g, ' ');
  const surname = tidy(fields.surname);
  const givenNames = tidy(fields.givenNames);
  if (!surname || !givenNames) throw InvalidArgument('INVALID_LICENCE_FIELDS', 'names need visible characters', {});
  return { ...fields, surname, givenNames };
}

/** What a submission needs before anyone can check it. */
export function missingForSubmission(profile: LicenceProfile): string[] {
  const missing: string[] = [];
  if (!profile.fields) missing.push('fields');
  for (const [slot, blobId] of Object.entries(profile.photos)) if (blobId === null) missing.push(slot);
  return missing;
}

/** The owner reads their own profile; operators read all; anyone else learns nothing (404). */
export function mayReadProfile(ownerId: string, reader: { userId: string; staff: boolean }): boolean {
  return reader.staff || reader.userId === ownerId;
}
