export interface RefreshTokenRecord {
  tokenHash: string;
  familyId: string;
  userId: string;
  issuedAt: number;
  expiresAt: number;
  rotatedAt: number | undefined;
  revokedAt: number | undefined;
}

export type RefreshVerdict =
  | { kind: 'rotate' }
  | { kind: 'invalid' }
  /** A rotated token came back: somebody holds a copy, so the whole family must end. */
  | { kind: 'reused' };

export function judgeRefresh(token: RefreshTokenRecord | undefined, now: number): RefreshVerdict {
  if (!token || token.revokedAt !== undefined || now >= token.expiresAt) return { kind: 'invalid' };
  if (token.rotatedAt !== undefined) return { kind: 'reused' };
  return { kind: 'rotate' };
}
