import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export interface EtcdServer {
  /** The client URL (`ETCD_ENDPOINTS`). */
  endpoint: string;
  close(): Promise<void>;
}

/** Whether Debian's etcd-server is installed (.ci/run installs it); tests skip with this reason otherwise. */
export const etcdMissing: string | false = spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'etcd is not installed (.ci/run installs Debian etcd-server)';

/** A one-member etcd on free loopback ports and a temporary data dir, removed on close. */
export async function startEtcdServer(): Promise<EtcdServer> {
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
