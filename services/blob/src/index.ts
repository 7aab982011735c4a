export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export type { BlobService } from './blob-service.ts';
