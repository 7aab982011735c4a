import { createServer } from 'node:net';

/**
 * A loopback TCP port nobody listens on right now, for a process that must be told its port up
 * front (a child service). Another process could take it between this call and the child's
 * bind; servers in this process should listen on port 0 instead, which has no such window.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('the OS gave no TCP port');
  return address.port;
}
