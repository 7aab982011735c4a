import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OcrReading } from '@carshare/contracts';
import { aLicence, readingOf } from '../testing/profile-factories.ts';
import { assessSubmission, type VerificationPolicy } from './auto-verification.ts';

const policy: VerificationPolicy = { today: '2026-12-04', minimumValidityDays: 30, minimumAge: 18 };

describe('auto-verification', () => {
  it('verifies when every field matches and the rules hold', () => {
    const fields = aLicence();
    assert.deepEqual(assessSubmission(fields, readingOf(fields), policy), { autoVerifiable: true, problems: [] });
  });

  it('ignores case, accents, blanks and separators where OCR and typing differ harmlessly', () => {
    const fields = aLicence({ surname: 'Lövelace', givenNames: 'Ada  Maria', classes: ['B', 'AM'] });
    const reading: OcrReading = { ...readingOf(fields), surname: 'LOVELACE', givenNames: 'ADA MARIA', classes: 'BAM' };
    assert.equal(assessSubmission(fields, reading, policy).autoVerifiable, true);
  });

  it('lists a mismatch per field with what was entered and what was read', () => {
    const fields = aLicence({ licenceNumber: 'DL7K42WX98' });
    const reading: OcrReading = { ...readingOf(fields), licenceNumber: 'DL7K42WX9B', birthDate: null };
    const { autoVerifiable, problems } = assessSubmission(fields, reading, policy);
    assert.equal(autoVerifiable, false);
    assert.deepEqual(problems, [
      { field: 'licenceNumber', problem: 'differs', entered: 'DL7K42WX98', read: 'DL7K42WX9B' },
      { field: 'birthDate', problem: 'unreadable', entered: fields.birthDate, read: null },
    ]);
  });

  it('sends minors, expired, soon-expiring and not-yet-issued licences to a human even when the reading matches', () => {
    const cases = [
      [aLicence({ birthDate: '2008-12-05', issuedOn: '2025-01-01' }), 'birthDate', 'underage'],
      [aLicence({ expiresOn: '2026-12-03' }), 'expiresOn', 'expired'],
      [aLicence({ expiresOn: '2027-01-02' }), 'expiresOn', 'expires_too_soon'],
      [aLicence({ issuedOn: '2026-12-05' }), 'issuedOn', 'not_yet_issued'],
    ] as const;
    for (const [fields, field, problem] of cases) {
      const result = assessSubmission(fields, readingOf(fields), policy);
      assert.equal(result.autoVerifiable, false, problem);
      assert.deepEqual(result.problems.map((p) => [p.field, p.problem]), [[field, problem]]);
    }
  });

  it('accepts a licence valid exactly the required number of days and a holder turning 18 today', () => {
    const fields = aLicence({ expiresOn: '2027-01-03', birthDate: '2008-12-04', issuedOn: '2026-01-10' });
    assert.equal(assessSubmission(fields, readingOf(fields), policy).autoVerifiable, true);
  });
});
