import { useEffect, useState } from 'react';

/**
 * The app's screens are real paths (deep links from mails: /verify-email?token=…), served by the
 * gateway's SPA fallback; History API navigation, no router library for six screens.
 */
export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const listener of listeners) listener();
  // A screen change must move keyboard and screen-reader focus to the new content.
  requestAnimationFrame(() => document.getElementById('main')?.focus());
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return location;
}
