export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export type { CarService } from './car-service.ts';
