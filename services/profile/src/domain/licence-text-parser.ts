import type { LicenceField, OcrReading } from '@carshare/contracts';

/**
 * Labels as printed on the card, loosely: OCR drops or swaps a letter now and then ("Surmame",
 * "Licence No;"), so each label accepts the common misreadings and any separator after it.
 */
const labels: ReadonlyArray<[LicenceField, RegExp]> = [
  ['surname', /\bsu[rnm]{1,3}a?me\b\s*[:;.,]?\s*(.*)$/i],
  ['givenNames', /\bgi[vy]en\s*na(?:rn|m|n)e?s?\b\s*[:;.,]?\s*(.*)$/i],
  ['birthDate', /\bdate\s*of\s*b[il]rth\b\s*[:;.,]?\s*(.*)$/i],
  ['issuedOn', /[il1|t]ssued\b\s*[:;.,]?\s*(.*)$/i],
  ['expiresOn', /\bexp[il1]res\b\s*[:;.,]?\s*(.*)$/i],
  ['issuingCountry', /\bcou[nm]t[a-z]?y\b\s*[:;.,]?\s*(.*)$/i],
  ['licenceNumber', /\bl[il1]ce[nm][cs]e\s*n[o0]\b\.?\s*[:;.,]?\s*(.*)$/i],
  ['classes', /\bc[l1i|]asses\b\s*[:;.,]?\s*(.*)$/i],
];

function leadingWords(value: string, word: RegExp): string | null {
  const words: string[] = [];
  for (const token of value.trim().split(/\s+/)) {
    if (!word.test(token)) break;
    words.push(token);
  }
  return words.length > 0 ? words.join(' ') : null;
}

/**
 * Symbols that can only be a letter in a licence number ("$56321928Y" is S56321928Y). Ambiguous
 * ones (`|` for I, J or 1) are left alone: the field reads as unreadable and a human looks.
 */
function asLetters(value: string): string {
  return value.replace(/[$§]/g, 'S').replace(/€/g, 'E');
}

function firstDate(value: string): string | null {
  // OCR reads the dashes of 2022-01-05 as dots, colons or blanks now and then.
  const match = /(\d{4})\s*[-.:/ ]\s*(\d{2})\s*[-.:/ ]\s*(\d{2})/.exec(value);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : null;
}

const readers: Readonly<Record<LicenceField, (value: string) => string | null>> = {
  surname: (value) => leadingWords(value, /^[A-Z][A-Z'-]*$/),
  givenNames: (value) => leadingWords(value, /^[A-Z][A-Z'-]*$/),
  birthDate: firstDate,
  issuedOn: firstDate,
  expiresOn: firstDate,
  issuingCountry: (value) => /^\s*([A-Z]{2})\b/.exec(value)?.[1] ?? null,
  licenceNumber: (value) => /^\s*([A-Z0-9]{5,20})\b/.exec(asLetters(value))?.[1] ?? null,
  classes: (value) => leadingWords(value, /^[A-Z][A-Z0-9]{0,3}$/),
};

/**
 * What the OCR text of a licence card says, field by field: each line is matched against the
 * printed labels, and the value after a label is cut down to what the field can hold (OCR adds
 * specks and frame lines as stray characters). Null where no line carried the field.
 */
export function parseLicenceText(text: string): OcrReading {
  const reading: OcrReading = {
    licenceNumber: null,
    surname: null,
    givenNames: null,
    birthDate: null,
    classes: null,
    issuedOn: null,
    expiresOn: null,
    issuingCountry: null,
  };
  for (const line of text.split('\n')) {
    for (const [field, label] of labels) {
      if (reading[field] !== null) continue;
      const match = label.exec(line);
      if (match) {
        reading[field] = readers[field](match[1] ?? '');
        break;
      }
    }
  }
  return reading;
}
