import { EventEmitter } from 'node:events';
import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export type FaultProxyMode =
  | { kind: 'pass' }
  /** Each chunk from the client waits `ms` before it is forwarded (order kept). */
  | { kind: 'latency'; ms: number }
  /** Every connection, open or new, is reset (TCP RST). */
  | { kind: 'reset' }
  /** Connections are accepted; nothing is forwarded and nothing comes back. */
  | { kind: 'blackhole' }
  /** Requests are forwarded; each connection's response is cut after `afterBytes` bytes. */
  | { kind: 'close-mid-response'; afterBytes: number };

export interface FaultProxyEvents {
  /** Bytes swallowed by blackhole. */
  dropped: [bytes: number];
  /** A response was cut short by close-mid-response. */
  cut: [bytesSent: number];
  /** A connection was reset. */
  reset: [];
}

export interface FaultProxyOptions {
  target: { host?: string; port: number };
  mode?: FaultProxyMode;
  /** How latency is waited out; tests pass one they release by hand. */
  delay?: (ms: number) => Promise<void>;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for pointing an HTTP client at the proxy. */
  readonly url: string;
  readonly events: EventEmitter<FaultProxyEvents>;
  mode(): FaultProxyMode;
  /** Applies to the next chunk of every connection; `reset` also resets open ones at once. */
  setMode(mode: FaultProxyMode): void;
  /** Client connections currently open. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on a free loopback port that misbehaves on command, for chaos and resilience tests
 * of anything speaking TCP (HTTP RPC, Redis, PostgreSQL, RabbitMQ). It works on raw chunks and
 * ignores backpressure: made for test traffic, not bulk transfer.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const targetHost = options.target.host ?? '127.0.0.1';
  const targetPort = options.target.port;
  const delay = options.delay ?? ((ms: number) => sleep(ms));
  const events = new EventEmitter<FaultProxyEvents>();
  let current: FaultProxyMode = options.mode ?? { kind: 'pass' };
  const pairs = new Map<Socket, { upstream: Socket | undefined }>();

  function reset(client: Socket): void {
    const pair = pairs.get(client);
    pair?.upstream?.destroy();
    if (!client.destroyed) {
      client.resetAndDestroy();
      events.emit('reset');
    }
  }

  const server = createServer((client) => {
    const pair: { upstream: Socket | undefined } = { upstream: undefined };
    pairs.set(client, pair);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(client);
    });
    client.on('error', () => {});
    if (current.kind === 'reset') {
      reset(client);
      return;
    }

    let responseBytes = 0;
    let cut = false;
    // Chunks go through one promise chain so a delayed chunk is never overtaken by a later one.
    let forwarding: Promise<void> = Promise.resolve();

    function upstream(): Socket {
      if (pair.upstream) return pair.upstream;
      const socket = createConnection({ host: targetHost, port: targetPort });
      pair.upstream = socket;
      socket.on('error', () => client.destroy());
      socket.on('end', () => client.end());
      socket.on('data', (chunk: Buffer) => respond(chunk));
      return socket;
    }

    /** Blackhole and reset treat both directions alike: true when the chunk goes no further. */
    function stoppedByMode(mode: FaultProxyMode, chunk: Buffer): boolean {
      if (mode.kind === 'blackhole') {
        events.emit('dropped', chunk.length);
        return true;
      }
      if (mode.kind === 'reset') {
        reset(client);
        return true;
      }
      return false;
    }

    function respond(chunk: Buffer): void {
      if (cut) return;
      const mode = current;
      if (stoppedByMode(mode, chunk)) return;
      if (mode.kind === 'close-mid-response' && responseBytes + chunk.length >= mode.afterBytes) {
        const room = Math.max(0, mode.afterBytes - responseBytes);
        cut = true;
        responseBytes += room;
        client.end(chunk.subarray(0, room));
        pair.upstream?.destroy();
        events.emit('cut', responseBytes);
        return;
      }
      responseBytes += chunk.length;
      client.write(chunk);
    }

    client.on('data', (chunk: Buffer) => {
      if (cut) return;
      const mode = current;
      if (stoppedByMode(mode, chunk)) return;
      const wait = mode.kind === 'latency' ? mode.ms : 0;
      forwarding = forwarding.then(async () => {
        if (wait > 0) await delay(wait);
        if (!client.destroyed && !cut) upstream().write(chunk);
      });
    });
    client.on('end', () => {
      void forwarding.then(() => pair.upstream?.end());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    url: `http://127.0.0.1:${port}`,
    events,
    mode: () => current,
    setMode(mode) {
      current = mode;
      if (mode.kind === 'reset') for (const client of [...pairs.keys()]) reset(client);
    },
    connections: () => pairs.size,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [client, pair] of pairs) {
        pair.upstream?.destroy();
        client.destroy();
      }
      await closed;
    },
  };
}
