import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

/**
 * Packages only a feature needs, loaded when it is first used: each cost every `npm start` time
 * and memory (issue 9). pdfkit renders receipts, sharp cleans uploaded images, tesseract.js reads
 * licences, ioredis talks to a REDIS_URL the embedded platform does not have, undici carries RPC
 * over HTTP between processes (~60 ms of a start), the AWS SDK talks to an S3_ENDPOINT (~90 ms).
 */
const loadedOnFirstUse = ['pdfkit', 'sharp', 'tesseract.js', 'ioredis', 'undici', '@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner'];

// A process of its own: what this test process already loaded must not count.
const startAndList = `
import { createRequire } from 'node:module';
const { startEmbeddedPlatform } = await import('./src/embedded-platform.ts');
const platform = await startEmbeddedPlatform({ dataDir: process.env.FOOTPRINT_DATA_DIR, gatewayPort: 0, logLevel: 'silent', seedDemo: true, overrides: { car: { 'devices.mqttPort': 0 } } });
const loaded = Object.keys(createRequire(process.cwd() + '/').cache);
await platform.close();
process.stdout.write(JSON.stringify(loaded));
`;

describe('what carshare up loads', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carshare-footprint-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts every service without loading the packages only a feature uses', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', startAndList], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, FOOTPRINT_DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', AMQP_URL: '', S3_ENDPOINT: '', CARSHARE_CONFIG: '' },
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const loaded = JSON.parse(stdout) as string[];
    const packageOf = (file: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    const packages = new Set(loaded.map(packageOf).filter((name) => name !== undefined));
    // The probe sees CommonJS packages the start does load.
    assert.ok(packages.has('fastify'), [...packages].join(', '));
    assert.deepEqual(
      loadedOnFirstUse.filter((name) => packages.has(name)),
      [],
    );
  });
});
