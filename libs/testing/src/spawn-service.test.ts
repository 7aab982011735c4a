import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { freePort } from './free-port.ts';
import { ChildProcessError, runCommand, spawnService, type SpawnedService } from './spawn-service.ts';

/** Small stand-in services as `node -e` scripts: start in milliseconds, unlike the real CLI. */
const node = (script: string) => [process.execPath, '-e', script];

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const tempDir = mkdtempSync(join(tmpdir(), 'spawn-service-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

describe('spawnService', () => {
  it('waits until /health/ready answers 200, captures both streams by line, and stops the process on dispose', async () => {
    const port = await freePort();
    const service: SpawnedService = await spawnService({
      name: 'flaky-start',
      args: [],
      command: node(`
        let probes = 0;
        require('node:http').createServer((req, res) => {
          if (req.url === '/health/ready') { probes++; res.writeHead(probes < 3 ? 503 : 200); res.end(String(probes)); return; }
          res.end('ok');
        }).listen(Number(process.env.PORT), '127.0.0.1', () => {
          process.stdout.write('listening\\nsecond line\\n');
          process.stderr.write('a warning\\n');
        });
      `),
      env: { PORT: String(port) },
      readyUrl: `http://127.0.0.1:${port}`,
      readyTimeoutMs: 10_000,
    });
    after(() => service.dispose());
    const third = await fetch(`${service.url}/health/ready`);
    assert.equal(await third.text(), '4', 'readiness was polled until the third probe said 200');
    await service.waitForLine(/a warning/, 5_000);
    assert.deepEqual(
      service.output.filter((line) => line.stream === 'stdout').map((line) => line.text),
      ['listening', 'second line'],
    );
    assert.ok(service.output.some((line) => line.stream === 'stderr' && line.text === 'a warning'));
    assert.ok(isAlive(service.pid));
    const status = await service.dispose();
    assert.equal(status.signal, 'SIGTERM');
    assert.equal(isAlive(service.pid), false);
    assert.equal(await service.dispose(), status, 'dispose is idempotent');
  });

  it('rejects with the output when the process exits before it is ready', async () => {
    const port = await freePort();
    await assert.rejects(
      spawnService({
        name: 'crasher',
        args: [],
        command: node(`process.stderr.write('config is broken: USER_PORT\\n'); process.exit(3);`),
        readyUrl: `http://127.0.0.1:${port}`,
        readyTimeoutMs: 10_000,
      }),
      (error: Error) => /crasher exited \(code 3/.test(error.message) && /config is broken: USER_PORT/.test(error.message),
    );
  });

  it('kills a process that is not ready within the bound and says so', async () => {
    // Readiness is asked of a server in this process that never says yes, so the outcome does not
    // depend on how fast the child starts on a loaded machine.
    const notReady = createServer((_request, response) => {
      response.writeHead(503);
      response.end();
    });
    await new Promise<void>((resolve) => notReady.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
    after(() => new Promise<void>((resolve) => notReady.close(() => resolve())));
    const { port } = notReady.address() as AddressInfo;
    const error: unknown = await spawnService({
      name: 'never-ready',
      args: [],
      command: node('setInterval(() => {}, 1000);'),
      readyUrl: `http://127.0.0.1:${port}`,
      readyTimeoutMs: 300,
    }).then(
      () => assert.fail('spawnService resolved'),
      (rejection: unknown) => rejection,
    );
    assert.ok(error instanceof ChildProcessError);
    assert.match(error.message, /never-ready was not ready at .* within 300 ms/);
    assert.equal(isAlive(error.pid), false);
  });

  it('SIGKILLs a process that ignores SIGTERM once the grace period is over', async () => {
    const service = await spawnService({
      name: 'stubborn',
      args: [],
      command: node(`process.on('SIGTERM', () => process.stdout.write('ignoring SIGTERM\\n')); setInterval(() => {}, 1000); process.stdout.write('up\\n');`),
      stopTimeoutMs: 300,
    });
    after(() => service.dispose());
    await service.waitForLine(/^up$/, 5_000);
    const status = await service.dispose();
    assert.equal(status.signal, 'SIGKILL');
    assert.ok(service.output.some((line) => line.text === 'ignoring SIGTERM'));
  });

  it('waitForLine rejects after its bound with the last output', async () => {
    const service = await spawnService({ name: 'quiet', args: [], command: node(`process.stdout.write('only this\\n'); setInterval(() => {}, 1000);`) });
    after(() => service.dispose());
    await service.waitForLine(/only this/, 5_000);
    await assert.rejects(service.waitForLine(/never printed/, 50), /quiet: no matching output line within 50 ms[\s\S]*only this/);
  });
});

describe('runCommand', () => {
  it('returns exit code and output; env overrides add and remove variables', async () => {
    process.env['SPAWN_SERVICE_TEST_INHERITED'] = 'inherited';
    try {
      const run = await runCommand({
        args: [],
        command: node(`
          console.log(JSON.stringify({ added: process.env.ADDED, removed: process.env.SPAWN_SERVICE_TEST_INHERITED ?? null, testContext: process.env.NODE_TEST_CONTEXT ?? null }));
          console.error('to stderr');
          process.exit(7);
        `),
        env: { ADDED: 'yes', SPAWN_SERVICE_TEST_INHERITED: undefined },
      });
      assert.equal(run.code, 7);
      assert.deepEqual(JSON.parse(run.stdout), { added: 'yes', removed: null, testContext: null });
      assert.equal(run.stderr, 'to stderr');
    } finally {
      delete process.env['SPAWN_SERVICE_TEST_INHERITED'];
    }
  });

  it('kills a command that outlives its bound', async () => {
    const error: unknown = await runCommand({ args: [], command: node('setInterval(() => {}, 1000);'), timeoutMs: 300 }).then(
      () => assert.fail('runCommand resolved'),
      (rejection: unknown) => rejection,
    );
    assert.ok(error instanceof ChildProcessError);
    assert.match(error.message, /did not finish within 300 ms/);
    assert.equal(isAlive(error.pid), false);
  });
});

describe('children of a test process that is killed', () => {
  it('are killed with it when it dies by SIGTERM', async () => {
    const pidFile = join(tempDir, 'grandchild.pid');
    // A parent that spawns a long-lived child through spawnService, then waits to be terminated.
    const parent = await spawnService({
      name: 'parent',
      args: [],
      command: [process.execPath, '--import', 'tsx', '--input-type=module', '-e', `
        import { writeFileSync } from 'node:fs';
        import { spawnService } from ${JSON.stringify(new URL('./spawn-service.ts', import.meta.url).href)};
        const child = await spawnService({ name: 'grandchild', args: [], command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] });
        writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));
        console.log('spawned');
        setInterval(() => {}, 1000);
      `],
    });
    after(() => parent.dispose());
    await parent.waitForLine(/^spawned$/, 20_000);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(isAlive(grandchild));
    const status = await parent.dispose();
    assert.equal(status.signal, 'SIGTERM', 'the signal still ends the parent');
    // The parent SIGKILLs its children synchronously before it dies; 'close' may come first, so poll briefly.
    const deadline = Date.now() + 5_000;
    while (isAlive(grandchild) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(isAlive(grandchild), false);
  });
});
