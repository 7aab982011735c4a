// A one-member etcd for tests: this library's own (discovery, central config), and everyone else's
// through @carshare/testing, which re-exports it (a subpath, so the production barrel never loads it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

export interface EtcdTestServer {
  endpoint: string;
  /** SIGKILLs the member, keeping its data: an etcd outage. */
  stop(): Promise<void>;
  /** Starts the member again on the same ports and data, resolving once it is healthy. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startEtcdTestServer(): Promise<EtcdTestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'carshare-etcd-'));
  const endpoint = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  let child: ChildProcess | undefined;
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    const started = spawn(
      'etcd',
      ['--name', 'test', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint, '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `test=${peer}`, '--log-level', 'error'],
      { stdio: 'ignore' },
    );
    child = started;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const response = await fetch(`${endpoint}/health`).catch(() => undefined);
      if (response?.ok) return;
      if (Date.now() > deadline || started.exitCode !== null) throw new Error('etcd did not start within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const close = async () => {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, stop, start, close };
}
