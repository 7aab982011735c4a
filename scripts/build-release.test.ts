import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, it } from 'node:test';
import { serviceRegistry } from '@carshare/cli';
// @ts-expect-error: a plain ES module script without types
import { buildRelease } from './build-release.mjs';

// The release is what a deployment runs: build it into an empty folder, then start it there with
// nothing but `node` on the PATH and none of the repository's environment.
let workDir: string;
let releaseDir: string;
const children: ChildProcess[] = [];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'carshare-release-'));
  releaseDir = join(workDir, 'release');
  await buildRelease({ outDir: releaseDir, install: true, say: () => undefined });
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await rm(workDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs `node carshare.mjs <args>` in the release folder with a bare environment. */
function runRelease(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['carshare.mjs', ...args], {
    cwd: releaseDir,
    env: { PATH: dirname(process.execPath), HOME: workDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function waitForOk(url: string, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) assert.fail(`exited with ${child.exitCode} before ${url} answered:\n${output()}`);
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`${url} did not answer within ${timeoutMs} ms:\n${output()}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  child.kill('SIGKILL');
}

it('the release runs the whole platform from its own folder: ready, demo login, /v1/me', async () => {
  const port = await freePort();
  const { child, output } = runRelease(['up', '--no-simulator'], { GATEWAY_PORT: String(port), CAR_MQTT_PORT: '0', CARSHARE_DATA_DIR: join(workDir, 'up-data') });
  const base = `http://127.0.0.1:${port}`;
  await waitForOk(`${base}/health/ready`, child, output);
  const login = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'rider@carshare.local', password: 'rider-demo-pass' }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const { tokens } = (await login.json()) as { tokens: { accessToken: string } };
  const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } });
  assert.equal(me.status, 200, await me.clone().text());
  assert.equal(((await me.json()) as { user: { email: string } | null }).user?.email, 'rider@carshare.local');
  await stop(child);
});

it('a service starts alone from the release (`carshare service user`: its migrations and native addons found)', async () => {
  // `up` above ran every service's code from the bundle; this is the distributed entry point,
  // with the service that reads the most at run time (SQL migrations, argon2's addon).
  const descriptor = serviceRegistry.find('user')!;
  const port = await freePort();
  const { child, output } = runRelease(['service', descriptor.name], {
    [`${descriptor.envPrefix}_PORT`]: String(port),
    CARSHARE_DATA_DIR: join(workDir, `data-${descriptor.name}`),
  });
  await waitForOk(`http://127.0.0.1:${port}/health/ready`, child, output);
  await stop(child);
});
