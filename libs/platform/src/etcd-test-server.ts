// A one-member etcd for tests: this library's own (discovery, central config), and everyone else's
// through @carshare/testing, which re-exports it (a subpath, so the production barrel never loads it).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const etcdMissing: string | false = spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'etcd is not installed (.ci/run installs Debian etcd-server)';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startEtcdTestServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carshare-etcd-'));
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const child = spawn(
    'etcd',
    ['--name', 'test', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `test=${peer}`, '--log-level', 'error'],
    { stdio: 'ignore' },
  );
  const close = async () => {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await fetch(`${endpoint}/health`).catch(() => undefined);
    if (response?.ok) return { endpoint, close };
    if (Date.now() > deadline || child.exitCode !== null) {
      await close();
      throw new Error('etcd did not start within 20 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
