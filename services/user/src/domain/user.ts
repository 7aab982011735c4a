import type { Role } from '@carshare/platform';

export type Plan = 'free' | 'basic' | 'premium' | 'unlimited';
export type UserStatus = 'active' | 'suspended';

export interface User {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  plan: Plan;
  status: UserStatus;
  suspendedReason: string | undefined;
  /** The owner followed the verification mail. Unverified riders may log in but not reserve. */
  emailVerified: boolean;
  createdAt: number;
}

/** What staff may change on an account, and what the account's own flows change. */
export type UserChanges = Partial<Pick<User, 'role' | 'plan' | 'status' | 'suspendedReason' | 'emailVerified'>>;

export interface UserRecord extends User {
  passwordHash: string;
}

/** Emails compare case-insensitively and without surrounding blanks; stored in that form. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

const statusTransitions: Record<UserStatus, readonly UserStatus[]> = {
  active: ['suspended'],
  suspended: ['active'],
};

export function canChangeStatus(from: UserStatus, to: UserStatus): boolean {
  return statusTransitions[from].includes(to);
}

/** An operator may act on riders and other operators, never on an admin; an admin on anyone. */
export function mayManage(actorRole: Role, targetRole: Role): boolean {
  if (actorRole === 'admin') return true;
  return actorRole === 'operator' && targetRole !== 'admin';
}
