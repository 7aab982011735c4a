import type { BackoffRule } from './attempt-backoff.ts';

/** Which back-off applies to which kind of attempt; every number lives in config. */
export interface LoginThrottlePolicy {
  /** Anonymous attempts at one account (no valid device token for it). */
  account: BackoffRule;
  /** Attempts carrying one valid device token: the owner's own budget, apart from strangers'. */
  device: BackoffRule;
  /** Attempts from one client address, at any account. */
  ip: BackoffRule;
  /** Every anonymous attempt at any account: the ceiling a distributed flood runs into. */
  global: BackoffRule;
  /** Registrations (and reset requests) from one client address. */
  signupPerIp: BackoffRule;
  /** Reset mails asked for one address: the owner's inbox is not a stranger's megaphone. */
  resetPerAccount: BackoffRule;
}

export interface ThrottleCheck {
  key: string;
  rule: BackoffRule;
  /** What a success does to this key: clear it (the account or device proved itself) or take back its one count. */
  onSuccess: 'clear' | 'forgive';
}

export interface LoginAttempt {
  /** Normalised email. */
  account: string;
  /** The device id behind a device token that is valid for this account, if one came. */
  trustedDeviceId: string | undefined;
  ip: string | undefined;
}

/**
 * The keys a login attempt is judged on. A known device is judged on its own count only, so a
 * stranger's failures at the account (from any number of addresses) never slow its owner down;
 * everyone else shares the account's, their address's and the global count. An attempt whose
 * address is unknown (a direct RPC call that did not say) skips the per-address count rather
 * than sharing one bucket with every other such caller.
 */
export function loginChecks(policy: LoginThrottlePolicy, attempt: LoginAttempt): ThrottleCheck[] {
  if (attempt.trustedDeviceId !== undefined) {
    return [{ key: `login:device:${attempt.trustedDeviceId}`, rule: policy.device, onSuccess: 'clear' }];
  }
  const checks: ThrottleCheck[] = [{ key: `login:account:${attempt.account}`, rule: policy.account, onSuccess: 'clear' }];
  if (attempt.ip !== undefined) checks.push({ key: `login:ip:${attempt.ip}`, rule: policy.ip, onSuccess: 'forgive' });
  checks.push({ key: 'login:global', rule: policy.global, onSuccess: 'forgive' });
  return checks;
}

/** Sign-ups per address; nothing is forgiven (a sign-up has no failure to tell apart). */
export function signupChecks(policy: LoginThrottlePolicy, ip: string | undefined): ThrottleCheck[] {
  return ip === undefined ? [] : [{ key: `signup:ip:${ip}`, rule: policy.signupPerIp, onSuccess: 'forgive' }];
}

export function resetChecks(policy: LoginThrottlePolicy, account: string, ip: string | undefined): ThrottleCheck[] {
  const checks: ThrottleCheck[] = [{ key: `reset:account:${account}`, rule: policy.resetPerAccount, onSuccess: 'forgive' }];
  if (ip !== undefined) checks.push({ key: `signup:ip:${ip}`, rule: policy.signupPerIp, onSuccess: 'forgive' });
  return checks;
}
