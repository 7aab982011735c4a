/** What a mailed link lets its holder do once. */
export type MailTokenPurpose = 'verify_email' | 'reset_password';

/** A token is stored only as its SHA-256: the mail holds the only copy of the token itself. */
export interface MailTokenRecord {
  tokenHash: string;
  userId: string;
  purpose: MailTokenPurpose;
  /** For email verification: the address the link proves (an address change later makes it void). */
  email: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | undefined;
}

export type MailTokenVerdict = { kind: 'valid' } | { kind: 'invalid'; why: 'unknown' | 'wrong_purpose' | 'used' | 'expired' };

export function judgeMailToken(token: MailTokenRecord | undefined, purpose: MailTokenPurpose, now: number): MailTokenVerdict {
  if (!token) return { kind: 'invalid', why: 'unknown' };
  if (token.purpose !== purpose) return { kind: 'invalid', why: 'wrong_purpose' };
  if (token.usedAt !== undefined) return { kind: 'invalid', why: 'used' };
  if (now >= token.expiresAt) return { kind: 'invalid', why: 'expired' };
  return { kind: 'valid' };
}
