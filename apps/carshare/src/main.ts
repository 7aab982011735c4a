import { parseArgs } from 'node:util';
import { runGatewayService } from '@carshare/gateway-service';
import { ConfigError, isAppError, observabilityFromConfig, roles, type Role } from '@carshare/platform';
import { InProcessEventBus } from '@carshare/messaging';
import { openSqlEngine } from '@carshare/storage';
import { createUserModule, loadUserConfig, runUserService } from '@carshare/user-service';
import { demoAccounts, seedDemoData } from './demo-data.ts';
import { startEmbeddedPlatform } from './embedded-platform.ts';

const usage = `carshare <command>

  up                          every service in one process (embedded topology), demo data seeded
  service <user|gateway>      one service alone (distributed topology; configured by env vars)
  migrate                     apply every service's database migrations and exit
  seed                        create the demo accounts if they are missing
  admin create --email E --password P [--name N] [--role operator|admin]
  keys rotate                 new signing key for access tokens; old tokens stay valid until they expire
`;

function say(message: string): void {
  process.stdout.write(`carshare: ${message}\n`);
}

async function up(): Promise<void> {
  const started = performance.now();
  say('starting the embedded platform');
  const platform = await startEmbeddedPlatform({
    onProgress: say,
    beforeGatewayListens: async (user) => {
      const created = await seedDemoData(user.users);
      if (created.length > 0) say(`seeded demo accounts: ${created.join(', ')}`);
    },
  });
  const publicUrl = platform.gatewayUrl.replace('127.0.0.1', 'localhost');
  say(`ready in ${Math.round(performance.now() - started)} ms`);
  say(`API      ${publicUrl}   (OpenAPI docs at ${publicUrl}/docs)`);
  say(`operator ${demoAccounts.operator.email} / ${demoAccounts.operator.password}`);
  say(`rider    ${demoAccounts.rider.email} / ${demoAccounts.rider.password}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: draining in-flight requests and stopping`);
    void platform.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** The user service's own module over the configured database, for one-off commands. */
async function withUserModule<T>(work: (module: ReturnType<typeof createUserModule>) => Promise<T>): Promise<T> {
  const config = loadUserConfig({ 'log.level': 'warn' });
  const observability = observabilityFromConfig('user', config, { processMetrics: false });
  const engine = await openSqlEngine({ databaseUrl: config.database.url, dataDir: config.database.dataDir });
  try {
    // Events written here stay in the outbox until the running service relays them: a one-off
    // command must not publish to a bus nobody listens on.
    const module = createUserModule({
      config,
      observability,
      database: engine.forService('user'),
      bus: new InProcessEventBus(),
      concurrentRelays: engine.kind === 'postgres',
    });
    await module.start({ relayEvents: false });
    try {
      return await work(module);
    } finally {
      await module.close();
    }
  } finally {
    await engine.close();
    await observability.shutdown();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, subcommand] = argv;
  switch (command ?? '') {
    case 'up':
      return up();
    case 'service':
      if (subcommand === 'user') return runUserService();
      if (subcommand === 'gateway') return runGatewayService();
      throw new UsageError(`unknown service '${subcommand ?? ''}': user or gateway`);
    case 'migrate':
      await withUserModule(async () => say('user schema is up to date'));
      return;
    case 'seed': {
      const created = await withUserModule((module) => seedDemoData(module.users));
      say(created.length > 0 ? `created ${created.join(', ')}` : 'demo accounts already exist');
      return;
    }
    case 'admin': {
      if (subcommand !== 'create') throw new UsageError(`unknown admin command '${subcommand ?? ''}'`);
      const { values } = parseArgs({
        args: argv.slice(2),
        options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', default: 'operator' } },
      });
      const role = values.role as Role;
      if (!values.email || !values.password) throw new UsageError('admin create needs --email and --password');
      if (role === 'rider' || !roles.includes(role)) throw new UsageError('--role is operator or admin');
      if (values.password.length < 10) throw new UsageError('--password needs at least 10 characters');
      const user = await withUserModule((module) =>
        module.users.createAccount({ email: values.email as string, password: values.password as string, displayName: values.name ?? values.email as string, role, plan: 'unlimited' }),
      );
      say(`created ${user.role} ${user.email} (${user.id})`);
      return;
    }
    case 'keys': {
      if (subcommand !== 'rotate') throw new UsageError(`unknown keys command '${subcommand ?? ''}'`);
      const kid = await withUserModule((module) => module.signer.rotate());
      say(`new signing key ${kid}; running user services pick it up within their reload interval`);
      return;
    }
    default:
      throw new UsageError(command ? `unknown command '${command}'` : 'no command given');
  }
}

class UsageError extends Error {}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`carshare: ${error.message}\n\n${usage}`);
    process.exit(2);
  }
  if (isAppError(error)) {
    process.stderr.write(`carshare: ${error.message} (${error.reason})\n`);
    process.exit(1);
  }
  // Wrong settings are the operator's to fix: the message names the variable, a stack adds nothing.
  if (error instanceof ConfigError) {
    process.stderr.write(`carshare: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`carshare: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
