import type { FieldProblem, LicenceField, LicenceFields, OcrReading } from '@carshare/contracts';
import { addDays, ageOn } from './calendar-date.ts';

export interface VerificationPolicy {
  /** The day of the decision, `YYYY-MM-DD` (UTC). */
  today: string;
  /** The licence must still be valid this many days after today for the machine to verify it. */
  minimumValidityDays: number;
  /** Drivers are adults: this age or older today. */
  minimumAge: number;
}

export interface Assessment {
  /** True only when every field matches the reading and no rule is broken. */
  autoVerifiable: boolean;
  /** Per field: what the OCR read differently or not at all, and which rules the entries break. */
  problems: FieldProblem[];
}

export const licenceFieldNames: readonly LicenceField[] = [
  'licenceNumber',
  'surname',
  'givenNames',
  'birthDate',
  'classes',
  'issuedOn',
  'expiresOn',
  'issuingCountry',
];

/** Letters without accents, upper case, one blank between words: how OCR and typing can agree. */
function foldName(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^A-Z]+/g, ' ')
    .trim();
}

function alphanumeric(value: string): string {
  return value.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** The entered value in the form it is printed on a card, for comparing and for showing. */
export function printedForm(fields: LicenceFields, field: LicenceField): string {
  return field === 'classes' ? fields.classes.join(' ') : fields[field];
}

function sameValue(field: LicenceField, entered: string, read: string): boolean {
  switch (field) {
    case 'surname':
    case 'givenNames':
      return foldName(entered) === foldName(read);
    case 'licenceNumber':
    case 'classes':
    case 'issuingCountry':
      return alphanumeric(entered) === alphanumeric(read);
    case 'birthDate':
    case 'issuedOn':
    case 'expiresOn':
      return entered === read;
  }
}

/** Rules on the entered values alone: an adult, a licence already issued and valid long enough. */
export function ruleProblems(fields: LicenceFields, policy: VerificationPolicy): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const problem = (field: LicenceField, kind: FieldProblem['problem']) => problems.push({ field, problem: kind, entered: printedForm(fields, field), read: null });
  if (ageOn(fields.birthDate, policy.today) < policy.minimumAge) problem('birthDate', 'underage');
  if (fields.issuedOn > policy.today) problem('issuedOn', 'not_yet_issued');
  if (fields.expiresOn < policy.today) problem('expiresOn', 'expired');
  else if (fields.expiresOn < addDays(policy.today, policy.minimumValidityDays)) problem('expiresOn', 'expires_too_soon');
  return problems;
}

/**
 * The auto-verification rule: every field matches what the OCR read, the holder is an adult, and
 * the licence is valid today and for `minimumValidityDays` more. Anything else goes to a human,
 * with the problems listed per field.
 */
export function assessSubmission(fields: LicenceFields, reading: OcrReading, policy: VerificationPolicy): Assessment {
  const problems: FieldProblem[] = [];
  for (const field of licenceFieldNames) {
    const entered = printedForm(fields, field);
    const read = reading[field];
    if (read === null || read.trim() === '') problems.push({ field, problem: 'unreadable', entered, read: null });
    else if (!sameValue(field, entered, read)) problems.push({ field, problem: 'differs', entered, read });
  }
  problems.push(...ruleProblems(fields, policy));
  return { autoVerifiable: problems.length === 0, problems };
}
