export * from './service-descriptor.ts';
export * from './service-config.ts';
export * from './service-registry.ts';
export * from './service-process.ts';
export * from './service-discovery.ts';
