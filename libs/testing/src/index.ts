export * from './fake-clock.ts';
export * from './fault-proxy.ts';
export * from './free-port.ts';
export * from './otlp-receiver.ts';
export * from './spawn-service.ts';
export * from './captured-logs.ts';
