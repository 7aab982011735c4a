export * from './module.ts';
export * from './config.ts';
export * from './descriptor.ts';
export type { PaymentService } from './payment-service.ts';
export { SimulatedPaymentProvider } from './adapters/simulated-payment-provider.ts';
export { MemoryProcessorStore, SqlProcessorStore, allProcessorIntents, simulatedProcessorSchema } from './adapters/simulated-processor-store.ts';
export type { ProcessorIntent, ProcessorStore } from './adapters/simulated-processor-store.ts';
