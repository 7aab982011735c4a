import { Lifecycle, StaticDiscovery, observabilityFromConfig } from '@carshare/platform';
import { gatewayConfigFile, loadGatewayConfig } from './config.ts';
import { createGatewayModule } from './module.ts';

/** The gateway alone, as one process of the distributed topology. */
export async function runGatewayService(): Promise<void> {
  const config = loadGatewayConfig();
  const observability = observabilityFromConfig('gateway', config, { processMetrics: true });
  const lifecycle = new Lifecycle(observability.logger);
  lifecycle.add({ name: 'observability', close: () => observability.shutdown() });
  const gateway = createGatewayModule({
    config,
    observability,
    discovery: new StaticDiscovery({ user: config.services.user }),
    ...(gatewayConfigFile() && { configFile: { path: gatewayConfigFile() as string, reload: () => loadGatewayConfig() } }),
  });
  await gateway.start();
  await gateway.server.listen({ host: config.http.host, port: config.http.port });
  lifecycle.add({ name: 'gateway', close: () => gateway.close() });
  lifecycle.closeOnSignals();
}

