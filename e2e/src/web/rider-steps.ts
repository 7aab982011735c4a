// Steps of the rider app that more than one browser test takes, written once.
import { licenceCardSample, renderLicenceCard } from '@carshare/profile-service/testing';
import type { Page } from 'playwright-core';

type LicenceFields = ReturnType<typeof licenceCardSample>['fields'];

/**
 * Opens the licence screen, uploads the three photos of licence sample `sampleIndex` (rendered
 * straight, so OCR can read it) and types its fields. Leaves the form unsaved, so the caller
 * checks the save and the submission its own way. Answers the fields typed, for the review.
 */
export async function fillInLicence(page: Page, sampleIndex: number, uploadTimeoutMs: number): Promise<LicenceFields> {
  await page.getByRole('navigation').getByRole('link', { name: 'Licence' }).click();
  await page.getByRole('heading', { name: 'Driving licence' }).waitFor();
  const sample = licenceCardSample(sampleIndex);
  const photo = renderLicenceCard(sample.fields, { ...sample.style, rotationDegrees: 0, noise: 0 });
  for (const slot of ['licence_front', 'licence_back', 'selfie']) {
    const box = page.getByTestId(`photo-${slot}`);
    await box.locator('input[type=file]').setInputFiles({ name: `${slot}.png`, mimeType: 'image/png', buffer: photo });
    await box.getByText('Uploaded').waitFor({ timeout: uploadTimeoutMs });
  }
  const fields = sample.fields;
  await page.getByLabel('Licence number').fill(fields.licenceNumber);
  await page.getByLabel('Surname').fill(fields.surname);
  await page.getByLabel('Given names').fill(fields.givenNames);
  await page.getByLabel('Date of birth').fill(fields.birthDate);
  await page.getByLabel(/^Classes/).fill(fields.classes.join(', '));
  await page.getByLabel('Issued on').fill(fields.issuedOn);
  await page.getByLabel('Expires on').fill(fields.expiresOn);
  await page.getByLabel(/^Issuing country/).fill(fields.issuingCountry);
  return fields;
}
