import { carRoutes, liveFeed, type LiveServerMessage } from '@carshare/contracts';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../../app/api.ts';
import { applyLiveMessage } from './live-message.ts';
import type { NearbyCarView } from './map-data.ts';

/** Without the live feed (closed, refused), the list is read again this often instead. */
const pollMs = 15_000;
/** The feed watches at most this far (LiveWatch's bound); a larger search area still gets the list. */
const liveRadiusLimitM = 10_000;

export interface SearchArea {
  lat: number;
  lng: number;
  radiusM: number;
}

/**
 * The available cars around `area`: read once from `GET /v1/cars/nearby`, then kept current by the
 * live feed (`/v1/live`), or by reading again every few seconds when the feed is not there.
 */
export function useNearbyCars(area: SearchArea | undefined): { cars: NearbyCarView[] | undefined; error: unknown; reload: () => void } {
  const [cars, setCars] = useState<NearbyCarView[]>();
  const [error, setError] = useState<unknown>();
  const [generation, setGeneration] = useState(0);
  const carsRef = useRef<NearbyCarView[] | undefined>(undefined);
  carsRef.current = cars;
  const reload = useCallback(() => setGeneration((value) => value + 1), []);

  // The list, on start, on reload and when the feed names a car it does not know.
  useEffect(() => {
    if (!area) return;
    const controller = new AbortController();
    api.call(carRoutes.nearby, { query: { ...area, limit: 100 }, signal: controller.signal }).then(
      (answer) => {
        if (controller.signal.aborted) return;
        setCars(answer.items);
        setError(undefined);
      },
      (failure: unknown) => {
        if (!controller.signal.aborted) setError(failure);
      },
    );
    return () => controller.abort();
  }, [area, generation]);

  useEffect(() => {
    if (!area) return;
    let socket: WebSocket | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    let stopped = false;
    const fallBack = () => {
      if (!stopped && poll === undefined) poll = setInterval(reload, pollMs);
    };
    void api.accessToken().then(
      (token) => {
        if (stopped || !token) return fallBack();
        const url = new URL(liveFeed.url, window.location.href);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        // The token rides as a subprotocol: a browser cannot set headers on a WebSocket.
        socket = new WebSocket(url, [liveFeed.subprotocol, `${liveFeed.tokenSubprotocolPrefix}${token}`]);
        const radiusM = Math.min(area.radiusM, liveRadiusLimitM);
        socket.addEventListener('open', () => socket?.send(JSON.stringify({ type: 'watch', lat: area.lat, lng: area.lng, radiusM })));
        socket.addEventListener('message', (event) => {
          if (typeof event.data !== 'string' || !carsRef.current) return;
          let message: LiveServerMessage;
          try {
            message = JSON.parse(event.data) as LiveServerMessage;
          } catch {
            return;
          }
          const next = applyLiveMessage(carsRef.current, message, radiusM);
          setCars(next.cars);
          if (next.unknown) reload();
        });
        socket.addEventListener('close', fallBack);
      },
      fallBack,
    );
    return () => {
      stopped = true;
      socket?.close();
      clearInterval(poll);
    };
  }, [area, reload]);

  return { cars, error, reload };
}
