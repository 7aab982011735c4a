export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export { reservedPrefixes } from './api/web-apps.ts';
