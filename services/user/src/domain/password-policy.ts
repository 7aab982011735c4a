/**
 * What a new password must be, after NIST SP 800-63B §3.1.1.2 (and §5.1.1.2 of the 2017 edition):
 * long enough, not a known common or breached password, not derived from the account's own
 * email or name, not one character repeated. No composition rules (digits, symbols) and no
 * expiry: the guideline found that they make passwords worse, not stronger.
 */
export type PasswordRule =
  | 'too_short'
  | 'too_long'
  | 'blank'
  | 'repeated_character'
  | 'common_password'
  | 'contains_email'
  | 'contains_name';

export type PasswordVerdict = { ok: true } | { ok: false; rule: PasswordRule; message: string };

export interface PasswordContext {
  email: string;
  displayName: string;
}

export const minPasswordLength = 10;
export const maxPasswordLength = 128;
/** Shorter parts of an email or name (`al`, `jo`) are in too many good passphrases to refuse. */
const minIdentityPartLength = 4;

const fail = (rule: PasswordRule, message: string): PasswordVerdict => ({ ok: false, rule, message });

/** Lower case, without spaces or separators: `Pass Word-123` and `password123` compare equal. */
function folded(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/[\s._\-+@]/g, '');
}

/** The pieces of an identity worth refusing inside a password: the whole, and its longer words. */
function identityParts(text: string): string[] {
  const words = text.normalize('NFKC').toLowerCase().split(/[\s._\-+@]+/);
  return [folded(text), ...words].filter((part) => part.length >= minIdentityPartLength);
}

/**
 * Judges a candidate password. `isCommon` answers for the shipped list of common and breached
 * passwords (already lower case): the candidate is checked as typed and folded, so neither case
 * nor spacing (`Password 123`) hides a listed one.
 */
export function judgePassword(password: string, context: PasswordContext, isCommon: (candidate: string) => boolean): PasswordVerdict {
  // Code points, not UTF-16 units: NIST counts characters, and an emoji is one.
  const length = [...password].length;
  if (length < minPasswordLength) return fail('too_short', `use at least ${minPasswordLength} characters`);
  if (length > maxPasswordLength) return fail('too_long', `use at most ${maxPasswordLength} characters`);
  if (password.trim() === '') return fail('blank', 'a password of only spaces is not a password');
  if (new Set(folded(password)).size <= 1) return fail('repeated_character', 'one character repeated is guessed first');
  const lower = password.toLowerCase();
  if (isCommon(lower) || isCommon(folded(password)) || isCommon(lower.trim())) {
    return fail('common_password', 'this password is on a list of common or breached passwords; pick another');
  }
  const candidate = folded(password);
  const [localPart = ''] = context.email.toLowerCase().split('@');
  for (const part of [folded(context.email), ...identityParts(localPart)]) {
    if (part.length >= minIdentityPartLength && candidate.includes(part)) return fail('contains_email', 'do not use your email address in your password');
  }
  for (const part of identityParts(context.displayName)) {
    if (candidate.includes(folded(part))) return fail('contains_name', 'do not use your name in your password');
  }
  return { ok: true };
}
