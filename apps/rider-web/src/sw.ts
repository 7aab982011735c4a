// The rider app's service worker: the app shell works offline after one visit and loads from the
// cache on the next. Built by Vite as /sw.js (a fixed name: its URL is its identity).
//
// - Hashed files under /assets/ never change: cache first.
// - Navigations: network first (a deploy shows at once), the cached index.html when offline.
// - The API and the operator console are never touched: stale data would be made-up data.

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(response: Promise<Response>): void;
}
interface WorkerScope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
}

const scope = self as unknown as WorkerScope;
const cacheName = 'carshare-rider-shell-v1';
const shell = '/index.html';
const neverHandled = ['/v1', '/admin', '/blobs', '/docs', '/health', '/metrics', '/rpc', '/gbfs'];

scope.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(cacheName)
      .then((cache) => cache.add(shell))
      .then(() => scope.skipWaiting()),
  );
});

scope.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== cacheName).map((name) => caches.delete(name))))
      .then(() => scope.clients.claim()),
  );
});

scope.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== scope.location.origin) return;
  if (neverHandled.some((prefix) => url.pathname === prefix || url.pathname.startsWith(`${prefix}/`))) return;
  if (url.pathname.startsWith('/assets/')) {
    event.respondWith(
      caches.match(request).then(
        (cached) =>
          cached ??
          fetch(request).then(async (response) => {
            if (response.ok) await (await caches.open(cacheName)).put(request, response.clone());
            return response;
          }),
      ),
    );
    return;
  }
  if (request.mode === 'navigate') {
    event.respondWith(
      fetch(request)
        .then(async (response) => {
          if (response.ok) await (await caches.open(cacheName)).put(shell, response.clone());
          return response;
        })
        .catch(async () => (await caches.match(shell)) ?? Response.error()),
    );
  }
});
