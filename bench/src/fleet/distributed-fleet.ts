import { randomBytes } from 'node:crypto';
import { serviceRegistry } from '@carshare/cli';
import { withServiceModule, type ServiceEnvironment } from '@carshare/service-kit';
import { freePort, spawnService, type SpawnedService } from '@carshare/testing';
import type { UserModule } from '@carshare/user-service';
import { freshDatabase, freshVirtualHost } from '../trips/shared-infrastructure.ts';

export interface DistributedFleetOptions {
  /** A PostgreSQL server; the run gets a database of its own on it, dropped afterwards. */
  databaseUrl: string;
  /** A RabbitMQ broker; the run gets a virtual host of its own, deleted afterwards. Unset: the car events reach no live feed but by polling. */
  amqpUrl?: string;
  /** The backplane between car instances (Mosquitto, ADR 0014), under a prefix of this run's own. */
  mqttUrl?: string;
  carInstances: number;
  /** CARSHARE_DATA_DIR for the children (unused with a database, but never ./data). */
  scratchDir: string;
  log: (line: string) => void;
}

export interface DistributedFleet {
  gatewayUrl: string;
  /** Each car instance's base URL (its /metrics carries the telemetry counter). */
  carUrls: string[];
  /** Each car instance's device gateway, comma-separated, as `carshare simulate --mqtt` takes it. */
  deviceUrls: string;
  /** The processes a request to the gateway goes through, for CPU accounting. */
  serverPids: number[];
  /** Runs `work` with a car service module of its own on the run's database (as `carshare migrate` does). */
  withCarModule<T>(work: (module: unknown) => Promise<T>): Promise<T>;
  /** Creates accounts with the user service's own use case on the run's database. */
  createAccounts(accounts: ReadonlyArray<{ email: string; password: string; displayName: string }>): Promise<void>;
  close(): Promise<void>;
}

/**
 * The distributed topology of the fleet benchmark: the user service, `carInstances` car services
 * (each with its own device gateway; Mosquitto links them) and the gateway, each its own
 * `carshare service <name>` process, on PostgreSQL and RabbitMQ. The demo operator is seeded and
 * the schemas migrated from this process before the services start, with the services' own modules.
 */
export async function startDistributedFleet(options: DistributedFleetOptions): Promise<DistributedFleet> {
  const { log } = options;
  const database = await freshDatabase(options.databaseUrl);
  const vhost = options.amqpUrl ? await freshVirtualHost(options.amqpUrl) : undefined;
  const services: SpawnedService[] = [];
  const close = async () => {
    // The gateway first, the user service last (the others fetch its keys).
    for (const service of [...services].reverse()) await service.dispose();
    // What went wrong in the services is otherwise lost with their processes (they log at warn).
    for (const service of services) {
      const complaints = service.output.filter((line) => /"level":"?(warn|error|fatal|40|50|60)\b/.test(line.text) || line.stream === 'stderr');
      if (complaints.length > 0) log(`${service.name} logged ${complaints.length} warnings/errors, the last ones:\n${complaints.slice(-5).map((line) => `  ${line.text.slice(0, 400)}`).join('\n')}`);
    }
    await vhost?.drop().catch((error: unknown) => log(`could not delete the RabbitMQ vhost: ${String(error)}`));
    await database.drop().catch((error: unknown) => log(`could not drop the database: ${String(error)}`));
  };
  try {
    const env: Record<string, string | undefined> = {
      DATABASE_URL: database.url,
      AMQP_URL: vhost?.url,
      MQTT_URL: options.mqttUrl,
      CAR_MQTT_BACKPLANE_PREFIX: `bench-fleet-${randomBytes(4).toString('hex')}`,
      CARSHARE_DATA_DIR: options.scratchDir,
      LOG_PRETTY: 'false',
      LOG_LEVEL: 'warn',
      // Rate limits have benchmarks of their own; 500 riders come from one address here.
      RATE_LIMITS_ENABLED: 'false',
      REDIS_URL: undefined,
      ETCD_ENDPOINTS: undefined,
      CARSHARE_CONFIG: undefined,
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      USER_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    };
    // Modules opened in this process to migrate, seed and provision: the same database, but their
    // own in-process bus (withServiceModule's) and a device port nobody connects to.
    const local = (): ServiceEnvironment => ({ env: { ...process.env, ...env, AMQP_URL: undefined, MQTT_URL: undefined, CAR_MQTT_PORT: '0' }, configFile: undefined });
    const userDescriptor = serviceRegistry.find('user');
    const seed = userDescriptor?.seedDemo?.bind(userDescriptor);
    if (!seed) throw new Error('the user service has no demo data to seed');
    await withServiceModule(serviceRegistry, 'user', (module) => seed(module), local());
    log(`migrated and seeded ${database.url.replace(/^.*\//, 'database ')}${vhost ? ` (RabbitMQ vhost ${vhost.url.replace(/^.*\//, '')})` : ''}`);

    const userPort = await freePort();
    const userUrl = `http://127.0.0.1:${userPort}`;
    services.push(await spawnService({ name: 'user', args: ['service', 'user'], env: { ...env, USER_HOST: '127.0.0.1', USER_PORT: String(userPort) }, readyUrl: userUrl, readyTimeoutMs: 120_000 }));
    const cars = await Promise.all(
      Array.from({ length: options.carInstances }, async (_, index) => {
        const [port, mqttPort] = [await freePort(), await freePort()];
        const url = `http://127.0.0.1:${port}`;
        const service = await spawnService({
          name: `car-${index + 1}`,
          args: ['service', 'car'],
          env: { ...env, USER_URL: userUrl, CAR_HOST: '127.0.0.1', CAR_PORT: String(port), CAR_MQTT_HOST: '127.0.0.1', CAR_MQTT_PORT: String(mqttPort) },
          readyUrl: url,
          readyTimeoutMs: 120_000,
        });
        services.push(service);
        return { service, url, deviceUrl: `mqtt://127.0.0.1:${mqttPort}` };
      }),
    );
    const [gatewayPort, opsPort] = [await freePort(), await freePort()];
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const gateway = await spawnService({
      name: 'gateway',
      args: ['service', 'gateway'],
      env: { ...env, DATABASE_URL: undefined, GATEWAY_HOST: '127.0.0.1', PORT: String(gatewayPort), GATEWAY_OPS_PORT: String(opsPort), USER_URL: userUrl, CAR_URL: cars.map((car) => car.url).join(',') },
      readyUrl: gatewayUrl,
      readyTimeoutMs: 120_000,
    });
    services.push(gateway);
    log(`user, ${cars.length} car and gateway processes ready (${gatewayUrl})`);
    return {
      gatewayUrl,
      carUrls: cars.map((car) => car.url),
      deviceUrls: cars.map((car) => car.deviceUrl).join(','),
      serverPids: [gateway.pid, ...cars.map((car) => car.service.pid)],
      withCarModule: (work) => withServiceModule(serviceRegistry, 'car', (module) => work(module), local()),
      createAccounts: (accounts) =>
        withServiceModule(
          serviceRegistry,
          'user',
          async (module) => {
            const users = (module as UserModule).users;
            for (const account of accounts) await users.createAccount({ ...account, role: 'rider', plan: 'free' });
          },
          local(),
        ),
      close,
    };
  } catch (error) {
    for (const service of services) log(`${service.name} said:\n${service.tail(20)}`);
    await close();
    throw error;
  }
}
