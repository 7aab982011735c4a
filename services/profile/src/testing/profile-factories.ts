import type { LicenceFields, OcrReading } from '@carshare/contracts';
import { licenceFieldNames, printedForm } from '../domain/auto-verification.ts';

/** A valid licence on 2026-12-04 (the tests' today): an adult, valid for years. */
export function aLicence(overrides: Partial<LicenceFields> = {}): LicenceFields {
  return {
    licenceNumber: 'DL7K42WX98',
    surname: 'LOVELACE',
    givenNames: 'ADA MARIA',
    birthDate: '1990-04-12',
    classes: ['B', 'AM'],
    issuedOn: '2022-01-05',
    expiresOn: '2032-01-04',
    issuingCountry: 'GB',
    ...overrides,
  };
}

/** What a perfect OCR would read from the card of `fields`. */
export function readingOf(fields: LicenceFields): OcrReading {
  return Object.fromEntries(licenceFieldNames.map((field) => [field, printedForm(fields, field)])) as OcrReading;
}
