import { liveFeed, type LiveCar, type LiveServerMessage } from '@carshare/contracts';
import { useEffect, useState } from 'react';
import type { ConsoleSession } from '../../api/console-session.ts';

export type LiveConnection = { state: 'connecting' } | { state: 'open' } | { state: 'waiting'; retryInMs: number; reason: string };

/** Back-off between reconnects: quick after a blip, patient when the gateway is down for longer. */
const retryDelaysMs = [1_000, 2_000, 5_000, 10_000, 30_000];

/**
 * Every car, live, from the gateway's WebSocket feed. The access token travels as a subprotocol
 * (`bearer.<token>`; a browser cannot set headers on a WebSocket and a token in the URL would land
 * in access logs). Each (re)connect asks for the whole fleet and starts over from a snapshot; a
 * fresh token is fetched for every attempt, so an expired one is refreshed silently first.
 */
export function useLiveFleet(session: ConsoleSession): { cars: ReadonlyMap<string, LiveCar>; connection: LiveConnection } {
  const [cars, setCars] = useState<ReadonlyMap<string, LiveCar>>(new Map());
  const [connection, setConnection] = useState<LiveConnection>({ state: 'connecting' });

  useEffect(() => {
    let socket: WebSocket | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;

    function retryLater(reason: string) {
      if (stopped) return;
      const delay = retryDelaysMs[Math.min(attempt, retryDelaysMs.length - 1)] ?? 30_000;
      attempt += 1;
      setConnection({ state: 'waiting', retryInMs: delay, reason });
      timer = setTimeout(() => void connect(), delay);
    }

    async function connect() {
      setConnection({ state: 'connecting' });
      let token: string | undefined;
      try {
        token = await session.client.accessToken();
      } catch (error) {
        retryLater(error instanceof Error ? error.message : String(error));
        return;
      }
      if (stopped || !token) return;
      const ws = new WebSocket(session.liveFeedUrl(liveFeed.url), [liveFeed.subprotocol, `${liveFeed.tokenSubprotocolPrefix}${token}`]);
      socket = ws;
      ws.onopen = () => {
        attempt = 0;
        setConnection({ state: 'open' });
        ws.send(JSON.stringify({ type: 'watch' }));
      };
      ws.onmessage = (event: MessageEvent<string>) => {
        let message: LiveServerMessage;
        try {
          message = JSON.parse(event.data) as LiveServerMessage;
        } catch {
          return;
        }
        if (message.type === 'snapshot') {
          setCars(new Map(message.cars.map((car) => [car.id, car])));
        } else if (message.type === 'changes') {
          setCars((current) => {
            const next = new Map(current);
            for (const car of message.cars) next.set(car.id, car);
            for (const id of message.gone) next.delete(id);
            return next;
          });
        }
      };
      ws.onclose = (event) => {
        if (socket === ws) socket = undefined;
        retryLater(event.reason || `closed (${event.code})`);
      };
    }

    void connect();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      socket?.close(1000, 'screen closed');
    };
  }, [session]);

  return { cars, connection };
}
