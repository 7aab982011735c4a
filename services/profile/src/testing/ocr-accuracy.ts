// The OCR accuracy run (issue 11, acceptance 3): renders N licence cards (6 fonts, rotation ±5°,
// grain), reads each with the tesseract.js provider and counts exact licence numbers and fields.
// Slow on purpose (about a second per image on two cores), so it is a script, not part of `npm test`:
//   npm run ocr-accuracy -w services/profile [-- <count>]
import { licenceFieldNames, printedForm } from '../domain/auto-verification.ts';
import { parseLicenceText } from '../domain/licence-text-parser.ts';
import { TesseractOcrProvider } from '../adapters/tesseract-ocr-provider.ts';
import { renderLicenceCard } from './licence-card-image.ts';
import { licenceCardSample } from './licence-card-samples.ts';

const count = Number(process.argv[2] ?? 20);
const provider = new TesseractOcrProvider();
let numbersExact = 0;
let allFieldsExact = 0;
const times: number[] = [];
const misses: string[] = [];
try {
  for (let index = 0; index < count; index++) {
    const { fields, style } = licenceCardSample(index);
    const image = renderLicenceCard(fields, style);
    const started = performance.now();
    const { text } = await provider.read(image, AbortSignal.timeout(60_000));
    times.push(performance.now() - started);
    const reading = parseLicenceText(text);
    if (reading.licenceNumber === fields.licenceNumber) numbersExact++;
    else misses.push(`#${index} ${style.font} ${style.rotationDegrees}°: ${fields.licenceNumber} read as ${reading.licenceNumber ?? 'nothing'}`);
    if (licenceFieldNames.every((field) => field === 'classes' ? reading.classes?.replace(/\s/g, '') === fields.classes.join('') : reading[field] === printedForm(fields, field))) allFieldsExact++;
  }
} finally {
  await provider.close();
}
const sorted = [...times].sort((a, b) => a - b);
const summary = {
  images: count,
  licenceNumberExact: numbersExact,
  licenceNumberAccuracy: numbersExact / count,
  allFieldsExact,
  msPerImage: { mean: Math.round(times.reduce((sum, ms) => sum + ms, 0) / count), median: Math.round(sorted[Math.floor(count / 2)] ?? 0), max: Math.round(sorted.at(-1) ?? 0) },
  misses,
};
console.log(JSON.stringify(summary, null, 2));
process.exitCode = summary.licenceNumberAccuracy >= 0.9 ? 0 : 1;
