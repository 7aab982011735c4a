import helmet from '@fastify/helmet';
import type { HttpServer } from '@carshare/platform';

type Directives = Record<string, readonly string[]>;

/** Renders directives as a `Content-Security-Policy` value, in the order given. */
export function cspHeader(directives: Directives): string {
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/**
 * JSON answers load nothing and belong in no frame: a response that a browser is tricked into
 * rendering still cannot run or fetch anything.
 */
export const apiContentSecurityPolicy: Directives = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Swagger UI at /docs: its page has no inline script (three bundled files), fetches the document
 * from its own origin and draws icons from data: URIs. Its React components set inline style
 * attributes, hence the one allowance, `style-src 'unsafe-inline'`: styles cannot run code.
 */
export const docsContentSecurityPolicy: Directives = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
  'object-src': ["'none'"],
};

/**
 * For the web apps when the gateway serves them (vite builds: hashed files, no inline script).
 * The map draws tiles from a configured origin and maplibre runs its workers from blob: URLs;
 * the live feed is a WebSocket to this origin.
 */
export function webAppContentSecurityPolicy(tileOrigins: readonly string[] = []): Directives {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:', ...tileOrigins],
    'connect-src': ["'self'", ...tileOrigins],
    'worker-src': ["'self'", 'blob:'],
    'font-src': ["'self'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'object-src': ["'none'"],
  };
}

/**
 * Security headers on every response of this server (issue 13 finding 7): a strict CSP, no
 * framing, no MIME sniffing, no referrer, same-origin resource and opener policies. Routes
 * that serve HTML with other needs (/docs) replace only the CSP.
 */
export async function registerSecurityHeaders(app: HttpServer): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: toHelmet(apiContentSecurityPolicy) },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // A cross-origin app reads the API through CORS, which this does not affect.
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    // One year, only honoured over HTTPS (a TLS-terminating proxy in front): plain HTTP ignores it.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
}

function toHelmet(directives: Directives): Record<string, string[]> {
  return Object.fromEntries(Object.entries(directives).map(([name, values]) => [name, [...values]]));
}
