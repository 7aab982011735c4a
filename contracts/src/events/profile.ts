import { Type } from 'typebox';
import { CalendarDate, RejectionReason } from '../rpc/profile.ts';
import { UserId } from '../rpc/user.ts';
import { defineEvent } from './envelope.ts';

// Subjects of profile events are the user id. No personal data rides on them (no licence
// number, no birth date): consumers that need more ask the profile service.

/** A rider sent their licence for verification; `submissionId` names this attempt (a resubmission gets a new one). */
export const ProfileSubmitted = defineEvent(
  'profile.submitted',
  1,
  Type.Object({ userId: UserId, submissionId: Type.String({ format: 'uuid' }) }),
);

export const ProfileVerified = defineEvent(
  'profile.verified',
  1,
  Type.Object({
    userId: UserId,
    submissionId: Type.String({ format: 'uuid' }),
    by: Type.Union([Type.Literal('ocr'), Type.Literal('operator')]),
    expiresOn: CalendarDate,
  }),
);

export const ProfileRejected = defineEvent(
  'profile.rejected',
  1,
  Type.Object({ userId: UserId, submissionId: Type.String({ format: 'uuid' }), reason: RejectionReason }),
);

/** A verification ended because the licence expired: the rider is `unsubmitted` again. */
export const ProfileExpired = defineEvent('profile.expired', 1, Type.Object({ userId: UserId, expiredOn: CalendarDate }));

export const profileEvents = [ProfileSubmitted, ProfileVerified, ProfileRejected, ProfileExpired] as const;
