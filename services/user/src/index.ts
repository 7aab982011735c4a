export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export * from './demo-data.ts';
export type { UserService, Session } from './user-service.ts';
