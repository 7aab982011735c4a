import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AppError } from '@carshare/platform';
import { parseLicenceText } from '../domain/licence-text-parser.ts';
import { renderLicenceCard } from '../testing/licence-card-image.ts';
import { licenceCardSample } from '../testing/licence-card-samples.ts';
import { TesseractOcrProvider } from './tesseract-ocr-provider.ts';

// A few generated cards only (about a second each on two cores); the 20-image accuracy run is
// `npm run ocr-accuracy -w services/profile`.
describe('tesseract.js OCR provider', () => {
  const provider = new TesseractOcrProvider();
  after(() => provider.close());

  it('reads the licence number and the other fields off generated, tilted, grainy cards with the traineddata from npm', async () => {
    for (const index of [2, 7]) {
      const { fields, style } = licenceCardSample(index);
      assert.ok(Math.abs(style.rotationDegrees) > 1 && style.noise > 0, 'a tilted, grainy sample');
      const { text } = await provider.read(renderLicenceCard(fields, style), AbortSignal.timeout(60_000));
      const reading = parseLicenceText(text);
      assert.equal(reading.licenceNumber, fields.licenceNumber, `card ${index} (${style.font}) read as:\n${text}`);
      assert.equal(reading.expiresOn, fields.expiresOn);
      assert.equal(reading.surname, fields.surname);
    }
  });

  it('abandons a read that outlives its timeout, and reads again afterwards on a fresh thread', async () => {
    const { fields, style } = licenceCardSample(3);
    const image = renderLicenceCard(fields, style);
    await assert.rejects(provider.read(image, AbortSignal.timeout(5)), (error: unknown) => error instanceof AppError && error.reason === 'OCR_TIMEOUT');
    const { text } = await provider.read(image, AbortSignal.timeout(60_000));
    assert.equal(parseLicenceText(text).licenceNumber, fields.licenceNumber);
  });
});
