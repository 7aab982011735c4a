import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * The first port of the range the kernel hands out by itself: to every `listen(0)` and to the
 * local end of every outgoing connection. A port picked inside it and released can be taken by
 * any process in the seconds before a child binds it (CI saw `carshare up` lose its gateway port
 * that way, while its own services listened on port 0 and called each other, and another test
 * file ran alongside); a port below it is never handed out by the kernel, so only another
 * explicit pick can collide.
 */
function ephemeralRangeStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(start) && start > 0) return start;
  } catch {
    // Not Linux: macOS and Windows both start their ephemeral range at the IANA one's.
  }
  return 49_152;
}

/** Above the ports most servers on a developer's machine take (databases, brokers, dev servers sit mostly below it). */
const lowestPick = 10_000;
const attempts = 200;

/**
 * A loopback TCP port nobody listens on right now, for a process that must be told its port up
 * front (a child service). It lies outside the kernel's ephemeral range, so nothing but another
 * explicit choice can take it before the child binds; servers in this process should still
 * listen on port 0, which has no window at all.
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
  const held: Server[] = [];
  try {
    const firstEphemeral = ephemeralRangeStart();
    const ports = new Set<number>();
    // A machine whose ephemeral range starts this low leaves nothing to pick from: the kernel's choice is the only one.
    const pickable = firstEphemeral - lowestPick;
    for (let attempt = 0; ports.size < count && pickable > 1_000 && attempt < attempts; attempt++) {
      const port = lowestPick + randomInt(pickable);
      if (ports.has(port)) continue;
      const server = await listenOn(host, port);
      if (!server) continue;
      held.push(server);
      ports.add(port);
    }
    while (ports.size < count) {
      const server = await listenOn(host, 0);
      if (!server) throw new Error(`no free port on ${host}`);
      held.push(server);
      ports.add(portOf(server));
    }
    return [...ports];
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** The server listening on the port, or undefined when somebody else has it (or may not give it). */
async function listenOn(host: string, port: number): Promise<Server | undefined> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
    return server;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') return undefined;
    throw error;
  }
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the OS gave no TCP port');
  return address.port;
}
