// Test support other packages may use (the e2e suite renders licence cards with it).
export { renderLicenceCard, licenceCardFonts, type LicenceCardStyle, type LicenceCardText } from './licence-card-image.ts';
export { licenceCardSample } from './licence-card-samples.ts';
