export * from './rpc/define-rpc-service.ts';
export * from './rpc/user.ts';
export * from './rpc/dead-letters.ts';
export * from './rpc/car.ts';
export * from './rpc/blob.ts';
export * from './rpc/profile.ts';
export * from './http/index.ts';
export * from './events/index.ts';
