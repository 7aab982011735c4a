import type { LicenceFields } from '@carshare/contracts';
import { licenceCardFonts, seededRandom, type LicenceCardStyle } from './licence-card-image.ts';

const surnames = ['LOVELACE', 'HOPPER', 'TURING', 'NOETHER', 'RAMANUJAN', 'CURIE', 'GAUSS', 'EULER', 'KOVALEVSKAYA', 'DIJKSTRA', 'LAMPORT', 'LISKOV'];
const givenNames = ['ADA', 'GRACE', 'ALAN', 'EMMY', 'SRINIVASA', 'MARIE', 'CARL', 'LEONHARD', 'SOFIA', 'EDSGER', 'LESLIE', 'BARBARA', 'JEAN PAUL', 'ANNA MARIA'];
const countries = ['GB', 'DE', 'FR', 'NL', 'SE', 'IE', 'ES', 'IT'];
const classSets = [['B'], ['B', 'AM'], ['A', 'B'], ['B', 'BE', 'C1'], ['AM', 'A1', 'B']];
const letters = [...'ABCDEFGHJKLMNPRSTUVWXYZ'];
const digits = [...'0123456789'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function date(random: () => number, fromYear: number, years: number): string {
  const day = new Date(Date.UTC(fromYear, 0, 1) + Math.floor(random() * years * 365) * 86_400_000);
  return day.toISOString().slice(0, 10);
}

/** Sample `index` of a reproducible set: a licence and the style its card is rendered in. */
export function licenceCardSample(index: number): { fields: LicenceFields; style: LicenceCardStyle } {
  const random = seededRandom(1_000 + index);
  // Letters, then digits, then maybe a check letter: the shape most national schemes print (US
  // states, Italy, Ireland), never I, O or Q, which pass for 1 and 0.
  const licenceNumber = [
    ...Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(random, letters)),
    ...Array.from({ length: 6 + Math.floor(random() * 4) }, () => pick(random, digits)),
    ...(random() < 0.5 ? [pick(random, letters)] : []),
  ].join('');
  const birthDate = date(random, 1950, 50);
  const issuedOn = date(random, 2018, 7);
  const fields: LicenceFields = {
    licenceNumber,
    surname: pick(random, surnames),
    givenNames: pick(random, givenNames),
    birthDate,
    classes: pick(random, classSets),
    issuedOn,
    expiresOn: `${Number(issuedOn.slice(0, 4)) + 10}${issuedOn.slice(4)}`,
    issuingCountry: pick(random, countries),
  };
  const style: LicenceCardStyle = {
    font: licenceCardFonts[index % licenceCardFonts.length] ?? 'DejaVu Sans',
    rotationDegrees: Math.round((random() * 10 - 5) * 10) / 10,
    noise: 0.05 + random() * 0.1,
    seed: index,
  };
  return { fields, style };
}
