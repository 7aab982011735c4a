export * from './embedded-platform.ts';
export * from './service-registry.ts';
