import { liveFeed, type LiveServerMessage } from '@carshare/contracts';
import { WebSocket } from 'ws';

export interface RiderLatencies {
  connected: number;
  snapshots: number;
  /** Per car update received: receipt time minus the device's measurement time, ms. */
  latenciesMs: number[];
  messages: number;
  closedEarly: number;
  /** Close code (and reason) → sockets the gateway closed before the end: why riders were dropped. */
  closeCodes: Record<string, number>;
  /** Why sockets were refused (a 401 for an expired token, a 429, a timeout): the rest still count. */
  refusals: string[];
}

/**
 * `riders` live-feed clients (tokens reused round-robin, at most a few per user), each watching a
 * circle somewhere in the city; every car position they receive is timed from the device's own
 * report timestamp to its arrival here, end to end: MQTT → car service → outbox → bus → hub → socket.
 */
export async function connectRiders(options: {
  wsUrl: string;
  tokens: readonly string[];
  riders: number;
  areas: readonly { lat: number; lng: number }[];
  radiusM: number;
}): Promise<{ stats: RiderLatencies; measureFrom(): void; close(): void }> {
  const stats: RiderLatencies = { connected: 0, snapshots: 0, latenciesMs: [], messages: 0, closedEarly: 0, closeCodes: {}, refusals: [] };
  let measuring = false;
  // Before any socket exists: a refused one closes while the others are still connecting.
  let closing = false;
  const sockets: WebSocket[] = [];
  const attempts = await Promise.allSettled(
    Array.from({ length: options.riders }, async (_, index) => {
      const token = options.tokens[index % options.tokens.length] as string;
      const area = options.areas[index % options.areas.length] as { lat: number; lng: number };
      const socket = new WebSocket(options.wsUrl, [liveFeed.subprotocol, `${liveFeed.tokenSubprotocolPrefix}${token}`]);
      sockets.push(socket);
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as LiveServerMessage;
        if (message.type === 'snapshot') stats.snapshots += 1;
        if (message.type !== 'changes' || !measuring) return;
        stats.messages += 1;
        const now = Date.now();
        for (const car of message.cars) if (car.ts > 0) stats.latenciesMs.push(now - car.ts);
      });
      socket.on('close', (code: number, reason: Buffer) => {
        if (closing) return;
        stats.closedEarly += 1;
        const key = `${code} ${reason.toString('utf8')}`.trim();
        stats.closeCodes[key] = (stats.closeCodes[key] ?? 0) + 1;
      });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('live feed: no answer to the upgrade within 30 s')), 30_000);
        socket.once('open', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        socket.once('unexpected-response', (_request, response) => {
          clearTimeout(timer);
          socket.terminate();
          reject(new Error(`live feed refused a rider: HTTP ${response.statusCode ?? '?'}`));
        });
      });
      stats.connected += 1;
      socket.send(JSON.stringify({ type: 'watch', lat: area.lat, lng: area.lng, radiusM: options.radiusM }));
    }),
  );
  for (const attempt of attempts) if (attempt.status === 'rejected') stats.refusals.push(attempt.reason instanceof Error ? attempt.reason.message : String(attempt.reason));
  return {
    stats,
    measureFrom: () => {
      measuring = true;
    },
    close: () => {
      closing = true;
      for (const socket of sockets) socket.terminate();
    },
  };
}
