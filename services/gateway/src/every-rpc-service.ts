import * as contracts from '@carshare/contracts';
import type { RpcServiceContract } from '@carshare/contracts';
import type { RegisteredService } from '@carshare/service-kit';

/**
 * A downstream for every RPC contract the contracts package exports, so a gateway composed from
 * them mounts every route group, including those of a service added tomorrow. For tests and tools
 * that build the whole public surface (the OpenAPI lint, the operations listener) without running
 * any service: nothing is ever called.
 */
export function everyRpcService(): RegisteredService[] {
  const services: RegisteredService[] = [];
  for (const value of Object.values(contracts) as unknown[]) {
    if (typeof value === 'object' && value !== null && typeof (value as { service?: unknown }).service === 'string' && 'methods' in value) {
      const rpc = value as RpcServiceContract;
      services.push({ name: rpc.service, defaultPort: 1, rpc });
    }
  }
  return services;
}
