export * from './module.ts';
export * from './config.ts';
export { runGatewayService } from './main.ts';
