/**
 * Child process for the trips benchmark: the embedded platform (`carshare up`'s composition),
 * seeded with the demo accounts, on PGlite in `<dataDir>`, or on PostgreSQL and RabbitMQ when the
 * parent passes DATABASE_URL and AMQP_URL. Announces the gateway and the car service's MQTT port.
 *
 *   node --import tsx trip-platform-server.ts <dataDir>
 */
import { serviceRegistry, startEmbeddedPlatform } from '@carshare/cli';
import { announceReady, closeWithParent } from '../child-protocol.ts';
import { installPlatformTracer, serveTrace } from './platform-tracer.ts';

const [dataDir] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: trip-platform-server.ts <dataDir>');

// --trace: statements and RPC calls counted (the parent reads them around the measured run).
if (process.env['TRIPS_TRACE'] === '1') installPlatformTracer();
const traceUrl = process.env['TRIPS_TRACE'] === '1' ? await serveTrace() : undefined;

const platform = await startEmbeddedPlatform({
  gatewayPort: 0,
  dataDir,
  logLevel: 'warn',
  prettyLogs: false,
  // stdout carries the ready line to the parent; logs go to stderr.
  logDestination: process.stderr,
  seedDemo: true,
  overrides: {
    // The riders' licences are approved by the bench's back office; OCR would only take CPU from the trips.
    profile: { 'ocr.worker': false },
    // Hundreds of riders from one address: limits have benchmarks of their own, and the user
    // service's own sign-up throttle (10 per address a day) would stop the riders' sign-ups.
    gateway: { 'rateLimits.enabled': false },
    user: { 'throttle.signupPerIp.freeFailures': 1_000_000 },
    // The processor's books are the processor's, outside the platform (trips-benchmark.ts).
    payment: { 'provider.store': process.env['TRIPS_PROCESSOR_STORE'] === 'database' ? 'database' : 'memory' },
  },
});
closeWithParent(() => platform.close());
const car = platform.module(serviceRegistry.find('car') as NonNullable<ReturnType<typeof serviceRegistry.find>>) as unknown as { gateway: { port: number } };
announceReady({ gatewayUrl: platform.gatewayUrl, mqttPort: car.gateway.port, traceUrl });
