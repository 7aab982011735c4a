export * from './public-api.ts';
export * from './licence-photo.ts';
export * from './rider-roster.ts';
export * from './rider-onboarding.ts';
export * from './rider-journey.ts';
export * from './rider-traffic.ts';
