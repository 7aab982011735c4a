/**
 * Child process for the gateway benchmark: the embedded platform (gateway + user service in one
 * process, talking over loopback RPC as in production), seeded with the demo accounts.
 *
 *   node --import tsx platform-server.ts <dataDir> [otlpEndpoint sampleRatio]
 */
import { startEmbeddedPlatform } from '@carshare/cli';
import { seedDemoData, userDescriptor } from '@carshare/user-service';
import { announceReady, closeWithParent } from '../child-protocol.ts';

const [dataDir, otlpEndpoint, sampleRatio] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: platform-server.ts <dataDir> [otlpEndpoint sampleRatio]');

const platform = await startEmbeddedPlatform({
  gatewayPort: 0,
  dataDir,
  logLevel: 'warn',
  prettyLogs: false,
  // stdout carries the ready line to the parent; logs go to stderr.
  logDestination: process.stderr,
  tracing: otlpEndpoint ? { otlpEndpoint, sampleRatio: Number(sampleRatio ?? '0.1') } : {},
});
closeWithParent(() => platform.close());
await seedDemoData(platform.module(userDescriptor).users);
announceReady({ gatewayUrl: platform.gatewayUrl, userUrl: platform.urlOf('user') });
