import { createServer } from 'node:net';

/**
 * A loopback TCP port nobody listens on right now, for a process that must be told its port up
 * front (a child service). Another process could take it between this call and the child's
 * bind; servers in this process should listen on port 0 instead, which has no such window.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/**
 * `count` different free ports, held together until all are known: ports asked for one at a time
 * can come back twice when the first one's process has not bound it yet (a gateway's main port
 * answers before its operations port listens), and two children then fight over one port.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(async (server) => {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port: 0, exclusive: true }, () => resolve());
        });
        const address = server.address();
        if (address === null || typeof address === 'string') throw new Error('the OS gave no TCP port');
        return address.port;
      }),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}
