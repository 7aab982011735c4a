export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export type { PaymentService } from './payment-service.ts';
