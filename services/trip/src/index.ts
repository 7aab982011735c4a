export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export type { TripService } from './trip-service.ts';
