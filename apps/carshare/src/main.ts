import { createRequire } from 'node:module';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createInterface } from 'node:readline';
import { ConfigError, isAppError } from '@carshare/platform';
import { CommandUsageError, UnknownServiceError, runService, withServiceModule, type AnyServiceDescriptor, type ServiceCommand } from '@carshare/service-kit';
import { startEmbeddedPlatform, type EmbeddedPlatform } from './embedded-platform.ts';
import { startFleetSimulation, type FleetSimulation } from './fleet-simulation.ts';
import { startRiderSimulation, type RiderSimulation } from './rider-simulation.ts';
import { serviceRegistry } from './service-registry.ts';

interface CliCommand {
  words: readonly string[];
  /** Shown after the words in the usage. */
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  allowPositionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

function say(message: string): void {
  process.stdout.write(`carshare: ${message}\n`);
}

function version(): string {
  // Through the package, not this file's folder: `npm start` runs a bundle in dist/.
  return (createRequire(import.meta.url)('@carshare/cli/package.json') as { version: string }).version;
}

/** The demo operator `carshare up` seeds: the simulator registers its cars as this operator. */
const demoOperator = { email: 'operator@carshare.local', password: 'operator-demo-pass' };

/** Where the car service's device broker listens in this process (its own port if it says, else its default). */
function deviceBrokerUrl(platform: EmbeddedPlatform): string | undefined {
  const descriptor = serviceRegistry.find('car');
  if (!descriptor) return undefined;
  const car = platform.module(descriptor) as { gateway?: { port?: number } };
  return `mqtt://127.0.0.1:${car.gateway?.port ?? 1884}`;
}

/** The gateway's operations listener in this process, if the platform runs a gateway. */
function gatewayOpsUrl(platform: EmbeddedPlatform): string | undefined {
  const descriptor = serviceRegistry.find('gateway');
  if (!descriptor) return undefined;
  const gateway = platform.module(descriptor) as { opsUrl?: () => string };
  return gateway.opsUrl?.().replace('127.0.0.1', 'localhost');
}

async function up(values: Record<string, string | boolean | undefined>): Promise<void> {
  const started = performance.now();
  say('starting the embedded platform');
  const platform = await startEmbeddedPlatform({ onProgress: say, seedDemo: true });
  if (platform.demo.created.length > 0) say(`seeded demo data: ${platform.demo.created.join(', ')}`);
  const publicUrl = platform.gatewayUrl.replace('127.0.0.1', 'localhost');
  say(`ready in ${Math.round(performance.now() - started)} ms`);
  say(`API      ${publicUrl}`);
  // Docs and metrics are on the gateway's operations listener, never on the public port (ADR 0023).
  const opsUrl = gatewayOpsUrl(platform);
  if (opsUrl) say(`ops      ${opsUrl}   (OpenAPI docs at ${opsUrl}/docs, Prometheus metrics at ${opsUrl}/metrics)`);
  const internal = [...platform.urls].filter(([, url]) => url !== platform.gatewayUrl);
  say(`services ${internal.map(([name, url]) => `${name} ${url}`).join(', ')}`);
  for (const login of platform.demo.logins) say(login);
  let stopping = false;
  let fleet: FleetSimulation | undefined;
  let riders: RiderSimulation | undefined;
  const mqttUrl = deviceBrokerUrl(platform);
  const cars = positiveInteger(values['cars'], '--cars');
  const riderEverySeconds = values['riders'] === false ? 0 : nonNegativeNumber(values['rider-every-s'], '--rider-every-s');
  if (values['simulator'] !== false && mqttUrl && cars > 0) {
    // After ready: the platform serves whether or not the simulated fleet comes up.
    startFleetSimulation({ cars, mqttUrl, apiUrl: platform.gatewayUrl, operator: demoOperator, dataDir: platform.dataDir, say }).then(
      (started) => {
        fleet = started;
        // Riders need cars to find: they start once the fleet reports.
        if (riderEverySeconds > 0 && !stopping) riders = startRiderSimulation({ apiUrl: platform.gatewayUrl, operator: demoOperator, dataDir: platform.dataDir, tripEveryMs: riderEverySeconds * 1000, say });
      },
      (error: unknown) => say(`simulator: not started: ${(error as Error).message}`),
    );
  }
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: draining in-flight requests and stopping`);
    void (async () => {
      // Riders first: they finish their trips while the cars can still lock.
      await riders?.stop().catch(() => undefined);
      await fleet?.stop().catch(() => undefined);
      await platform.close();
      process.exit(0);
    })();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

function positiveInteger(value: string | boolean | undefined, flag: string): number {
  const number = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(number)) throw new CommandUsageError(`${flag} takes a whole number, not ${String(value)}`);
  return number;
}

function nonNegativeNumber(value: string | boolean | undefined, flag: string): number {
  const number = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(number) || number < 0) throw new CommandUsageError(`${flag} takes a number ≥ 0, not ${String(value)}`);
  return number;
}

async function simulate(values: Record<string, string | boolean | undefined>): Promise<void> {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name]) : undefined);
  const mqttUrl = text('mqtt');
  const apiUrl = text('api');
  if (!mqttUrl || !apiUrl) throw new CommandUsageError('simulate needs --mqtt <broker url> and --api <gateway url>');
  const token = text('token');
  const email = text('operator-email');
  const password = text('operator-password');
  if (!token && (!email || !password)) throw new CommandUsageError('give --token, or --operator-email and --operator-password, of an operator who may create cars');
  let failures;
  try {
    failures = text('failures') === undefined ? undefined : (JSON.parse(text('failures') as string) as object);
  } catch {
    throw new CommandUsageError('--failures takes JSON, e.g. {"fleet":{"gpsDriftM":20},"cars":{"#0":{"neverAck":true}}}');
  }
  const fleet = await startFleetSimulation({
    cars: positiveInteger(values['cars'], '--cars'),
    mqttUrl,
    apiUrl,
    operator: token ? { accessToken: token } : { email: email as string, password: password as string },
    dataDir: text('data-dir') as string,
    settings: {
      reportIntervalMs: positiveInteger(values['report-interval-ms'], '--report-interval-ms'),
      seed: positiveInteger(values['seed'], '--seed'),
      ambientTripsPerHour: nonNegativeNumber(values['ambient-trips-per-hour'], '--ambient-trips-per-hour'),
      connectConcurrency: positiveInteger(values['connect-concurrency'], '--connect-concurrency'),
    },
    ...(failures && { failures }),
    say,
  });
  const status = setInterval(() => {
    const { reportsSent, reportsSkipped, commandsReceived, acksSent, tripsStarted } = fleet.simulator.stats;
    say(`simulator: ${reportsSent} reports sent (${reportsSkipped} skipped offline), ${commandsReceived} commands, ${acksSent} acks, ${tripsStarted} trips`);
  }, 30_000);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(status);
    say(`${signal}: saving the fleet and disconnecting`);
    void fleet.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  if (values['control-stdin'] === true) {
    // Run by another program (the fleet benchmark): it holds our stdin open, so when it dies in
    // any way, even SIGKILL, stdin ends and the fleet stops with it instead of reporting on as an
    // orphan. It may also change the report interval: `report-interval-ms N`.
    // A dead parent also closed the pipe our stdout writes to: the goodbye line must not crash
    // the stop that saves the fleet (EPIPE).
    process.stdout.on('error', () => undefined);
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      const [verb, argument] = line.trim().split(/\s+/, 2);
      if (verb === 'report-interval-ms' && Number(argument) > 0) {
        fleet.simulator.setReportInterval(Number(argument));
        say(`simulator: reporting every ${Number(argument)} ms from now on`);
      } else {
        say(`simulator: unknown control line: ${line}`);
      }
    });
    lines.on('close', () => stop('stdin closed'));
  }
}

/** A command a service contributes, run against that service's module over the configured database. */
function serviceCommand(descriptor: AnyServiceDescriptor, command: ServiceCommand): CliCommand {
  return {
    words: command.words,
    usage: command.usage ?? '',
    summary: command.summary,
    ...(command.options && { options: command.options }),
    run: (values) => withServiceModule(serviceRegistry, descriptor.name, (module) => command.run(module, values, say)),
  };
}

const withDatabase = serviceRegistry.all.filter((descriptor) => descriptor.migrationsDir);

const commands: CliCommand[] = [
  {
    words: ['up'],
    usage: '[--no-simulator] [--cars N] [--no-riders | --rider-every-s S]',
    summary: 'every service in one process (embedded topology), demo data seeded, a simulated fleet of N cars (200) and simulated riders starting a trip every S seconds (20)',
    options: {
      simulator: { type: 'boolean', default: true },
      cars: { type: 'string', default: '200' },
      riders: { type: 'boolean', default: true },
      'rider-every-s': { type: 'string', default: '20' },
    },
    run: up,
  },
  {
    words: ['simulate'],
    usage: '--mqtt URL --api URL (--token T | --operator-email E --operator-password P) [--cars N] [--report-interval-ms MS] [--seed S] [--failures JSON] [--data-dir DIR] [--control-stdin]',
    summary: 'simulated cars that connect to the device broker as real boxes do (cars created through the operator API when missing)',
    options: {
      mqtt: { type: 'string' },
      api: { type: 'string' },
      token: { type: 'string' },
      'operator-email': { type: 'string' },
      'operator-password': { type: 'string' },
      cars: { type: 'string', default: '200' },
      'report-interval-ms': { type: 'string', default: '5000' },
      seed: { type: 'string', default: '1' },
      'ambient-trips-per-hour': { type: 'string', default: '0.5' },
      'connect-concurrency': { type: 'string', default: '100' },
      failures: { type: 'string' },
      'data-dir': { type: 'string', default: 'data' },
      /** For a parent process: stop when stdin ends, take `report-interval-ms N` lines on it. */
      'control-stdin': { type: 'boolean' },
    },
    run: simulate,
  },
  {
    words: ['service'],
    usage: `<${serviceRegistry.names().join('|')}>`,
    summary: 'one service alone (distributed topology; configured by env vars)',
    allowPositionals: true,
    async run(_values, [name]) {
      if (!name) throw new CommandUsageError('which service? one of ' + serviceRegistry.names().join(', '));
      await runService(serviceRegistry, name);
    },
  },
  {
    words: ['migrate'],
    usage: '',
    summary: "apply every service's database migrations and exit",
    async run() {
      for (const descriptor of withDatabase) {
        await withServiceModule(serviceRegistry, descriptor.name, async () => say(`${descriptor.name} schema is up to date`));
      }
    },
  },
  {
    words: ['seed'],
    usage: '',
    summary: 'create the demo data if it is missing',
    async run() {
      for (const descriptor of serviceRegistry.all) {
        const seed = descriptor.seedDemo?.bind(descriptor);
        if (!seed) continue;
        const { created } = await withServiceModule(serviceRegistry, descriptor.name, (module) => seed(module));
        say(created.length > 0 ? `created ${created.join(', ')}` : `${descriptor.name}: demo data already exists`);
      }
    },
  },
  ...serviceRegistry.all.flatMap((descriptor) => (descriptor.commands ?? []).map((command: ServiceCommand) => serviceCommand(descriptor, command))),
];

function usage(): string {
  const width = 26;
  const lines = commands.map((command) => {
    const synopsis = [...command.words, command.usage].join(' ').trim();
    // A long synopsis keeps the summaries in one column by taking a line of its own.
    return synopsis.length <= width ? `  ${synopsis.padEnd(width)}  ${command.summary}` : `  ${synopsis}\n  ${''.padEnd(width)}  ${command.summary}`;
  });
  return `carshare <command> [options]\n\n${lines.join('\n')}\n\n  -h, --help                  this text, or a command's own (carshare <command> --help)\n  -v, --version               the version\n`;
}

function commandUsage(command: CliCommand): string {
  return `carshare ${[...command.words, command.usage].join(' ').trim()}\n\n  ${command.summary}\n`;
}

/** The longest run of leading words that names a command. */
function findCommand(argv: readonly string[]): CliCommand | undefined {
  return commands
    .filter((command) => command.words.every((word, index) => argv[index] === word))
    .sort((a, b) => b.words.length - a.words.length)[0];
}

async function main(argv: string[]): Promise<void> {
  const first = argv[0];
  if (first === undefined) throw new UsageError('no command given');
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  const command = findCommand(argv);
  if (!command) throw new UsageError(`unknown command '${argv.filter((arg) => !arg.startsWith('-')).slice(0, 2).join(' ')}'`);
  const rest = argv.slice(command.words.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandUsage(command));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: command.allowPositionals ?? false, strict: true, allowNegative: true });
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  try {
    await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (error) {
    if (error instanceof CommandUsageError || error instanceof UnknownServiceError) throw new UsageError(error.message, command);
    throw error;
  }
}

class UsageError extends Error {
  readonly command: CliCommand | undefined;

  constructor(message: string, command?: CliCommand) {
    super(message);
    this.command = command;
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`carshare: ${error.message}\n\n${error.command ? commandUsage(error.command) : usage()}`);
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
