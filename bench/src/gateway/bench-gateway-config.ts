import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const never = 1_000_000_000;
const gcra = { algorithm: 'gcra', limit: never, windowMs: 60_000, burst: never } as const;
const slidingWindow = { algorithm: 'sliding-window', limit: never, windowMs: 60_000 } as const;

/**
 * A CARSHARE_CONFIG file for the benchmark's platforms: rate limits stay on, so every request
 * still pays for its check and count, but with limits no run can reach; otherwise the demo
 * rider's 300/min would turn a load test into a test of 429s.
 */
export async function writeBenchGatewayConfig(dir: string): Promise<string> {
  const file = join(dir, 'bench-config.json');
  const config = {
    rateLimits: {
      enabled: true,
      anonymousPerIp: gcra,
      plans: { free: gcra, basic: gcra, premium: gcra, unlimited: null },
      routes: {
        login: { perIp: slidingWindow, perAccount: slidingWindow },
        register: { perIp: slidingWindow },
        refresh: { perIp: slidingWindow },
      },
      perDevice: gcra,
    },
  };
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}
