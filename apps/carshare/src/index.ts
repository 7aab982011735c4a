export * from './embedded-platform.ts';
export * from './demo-data.ts';
