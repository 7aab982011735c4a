export * from './module.ts';
export * from './config.ts';
export { runUserService } from './main.ts';
export type { UserService, Session } from './user-service.ts';
