import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProfileStatus } from '@carshare/contracts';
import { AppError } from '@carshare/platform';
import { ageOn, addDays, isCalendarDate } from './calendar-date.ts';
import { cleanLicenceFields, emptyProfile, missingForSubmission, nextStatus, profileStatuses, profileTriggers, type ProfileTrigger } from './licence-profile.ts';
import { aLicence } from '../testing/profile-factories.ts';

// Every (status, trigger) pair: the ones DOMAIN.md allows, and a 409 naming the status for the rest.
const allowed: Record<ProfileTrigger, Partial<Record<ProfileStatus, ProfileStatus>>> = {
  submit: { unsubmitted: 'pending', rejected: 'pending' },
  auto_verify: { pending: 'verified' },
  approve: { pending: 'verified' },
  reject: { pending: 'rejected' },
  rider_edits: { verified: 'unsubmitted' },
  licence_expired: { verified: 'unsubmitted' },
};

describe('profile state machine', () => {
  for (const trigger of profileTriggers) {
    for (const status of profileStatuses) {
      const to = allowed[trigger][status];
      if (to) {
        it(`${trigger}: ${status} → ${to}`, () => assert.equal(nextStatus(status, trigger), to));
      } else {
        it(`${trigger}: refused from ${status} with 409 and the current status`, () => {
          assert.throws(
            () => nextStatus(status, trigger),
            (error: unknown) => error instanceof AppError && error.code === 'FAILED_PRECONDITION' && error.reason === 'INVALID_PROFILE_TRANSITION' && error.details['status'] === status,
          );
        });
      }
    }
  }

  it('lets a rejected rider resubmit and be approved', () => {
    const resubmitted = nextStatus(nextStatus(nextStatus('unsubmitted', 'submit'), 'reject'), 'submit');
    assert.equal(nextStatus(resubmitted, 'approve'), 'verified');
  });
});

describe('licence fields', () => {
  it('trims names and keeps the rest', () => {
    const cleaned = cleanLicenceFields(aLicence({ surname: '  de  la Cruz ', givenNames: 'Ana ' }));
    assert.equal(cleaned.surname, 'de la Cruz');
    assert.equal(cleaned.givenNames, 'Ana');
  });

  it('refuses impossible dates and dates out of order', () => {
    for (const bad of [{ birthDate: '2001-02-29' }, { expiresOn: '2020-01-01', issuedOn: '2021-01-01' }, { birthDate: '2022-01-01', issuedOn: '2021-01-01' }]) {
      assert.throws(() => cleanLicenceFields(aLicence(bad)), { reason: 'INVALID_LICENCE_DATES' });
    }
  });

  it('names what a submission still lacks', () => {
    const profile = emptyProfile('u', 0);
    assert.deepEqual(missingForSubmission(profile), ['fields', 'licenceFront', 'licenceBack', 'selfie']);
    assert.deepEqual(missingForSubmission({ ...profile, fields: aLicence(), photos: { licenceFront: 'a', licenceBack: 'b', selfie: null } }), ['selfie']);
  });
});

describe('calendar dates', () => {
  it('knows real dates, adds days across months and counts whole years of age', () => {
    assert.equal(isCalendarDate('2024-02-29'), true);
    assert.equal(isCalendarDate('2023-02-29'), false);
    assert.equal(addDays('2026-12-20', 30), '2027-01-19');
    assert.equal(ageOn('2008-12-05', '2026-12-04'), 17);
    assert.equal(ageOn('2008-12-04', '2026-12-04'), 18);
  });
});
