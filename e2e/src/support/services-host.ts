// Several services in one process, each exactly as `carshare service <name>` runs it (its own
// config from its own environment, own PGlite folder, own port, RPC over HTTP to the others):
//
//   node --import tsx e2e/src/support/services-host.ts '[{"name":"user","env":{...},"seed":true},…]'
//
// For tests that need the distributed topology for a few services (the ones they kill) and only
// a backdrop for the rest: one process instead of five costs a fifth of the start-up CPU on a
// 2-core machine. The first is started first (the user service: the others fetch its keys), the
// rest side by side; `seed` creates the service's demo data before it starts.
import { serviceRegistry } from '@carshare/cli';
import { runService, withServiceModule, type ServiceEnvironment } from '@carshare/service-kit';

interface HostedService {
  name: string;
  env: Record<string, string>;
  seed?: boolean;
}

async function host(service: HostedService): Promise<void> {
  const environment: ServiceEnvironment = { env: { ...process.env, ...service.env }, configFile: undefined };
  if (service.seed) {
    const descriptor = serviceRegistry.find(service.name);
    const seed = descriptor?.seedDemo?.bind(descriptor);
    if (seed) await withServiceModule(serviceRegistry, service.name, (module) => seed(module), environment);
  }
  await runService(serviceRegistry, service.name, environment);
}

const [first, ...rest] = JSON.parse(process.argv[2] ?? '[]') as HostedService[];
const hosted = first ? [first, ...rest] : [];
if (first) await host(first);
await Promise.all(rest.map(host));
process.stdout.write(`services-host: ${hosted.map((service) => service.name).join(', ')} ready\n`);
