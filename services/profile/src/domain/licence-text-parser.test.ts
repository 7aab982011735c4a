import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLicenceText } from './licence-text-parser.ts';

describe('licence text parser', () => {
  it('reads each labelled line and cuts the stray characters OCR adds', () => {
    // Real tesseract output for a generated card (tilted, noisy): frame lines, specks, a "T" for an "I".
    const text = 'DRIVING LICENCE .\nfo 1 Surname: LOVELACE\n| | Given names: ADA MARIA i\n| : | Date of birth: 1990-04-12 :\n| Tssued: 2022-01:05\n: LL Expires: 2032-01-04\nCountry: GB\nLicence No: DL7K42WX98 ~~ |\nClasses: B AM\n';
    assert.deepEqual(parseLicenceText(text), {
      surname: 'LOVELACE',
      givenNames: 'ADA MARIA',
      birthDate: '1990-04-12',
      issuedOn: '2022-01-05',
      expiresOn: '2032-01-04',
      issuingCountry: 'GB',
      licenceNumber: 'DL7K42WX98',
      classes: 'B AM',
    });
  });

  it('accepts labels OCR misreads a letter of', () => {
    const reading = parseLicenceText('Given narnes: ADA\nCountiy: GB\nCiasses: B\n');
    assert.deepEqual([reading.givenNames, reading.issuingCountry, reading.classes], ['ADA', 'GB', 'B']);
  });

  it('reads a dollar sign in a licence number as the S it must be, and nothing else into it', () => {
    assert.equal(parseLicenceText('Licence No: $X242008447V').licenceNumber, 'SX242008447V');
    assert.equal(parseLicenceText('Licence No: W|85453635Z').licenceNumber, null);
  });

  it('leaves a field null when no line carries it or its value is garbled', () => {
    const reading = parseLicenceText('Sumame: LOVELACE\nDate of birth: Beeeat\nLicence No: ~~\n');
    assert.equal(reading.surname, 'LOVELACE');
    assert.equal(reading.birthDate, null);
    assert.equal(reading.licenceNumber, null);
    assert.equal(reading.expiresOn, null);
  });
});
