export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export type { ProfileService } from './profile-service.ts';
