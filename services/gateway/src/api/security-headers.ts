import type { HttpServer } from '@carshare/platform';
import type { FastifyInstance } from 'fastify';

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
 * The headers every response of the API carries (issue 13 finding 7), as helmet 8 renders the
 * options this server used to give it: a strict CSP, no framing, no MIME sniffing, no referrer,
 * same-origin resource and opener policies, HSTS for one year (honoured only over HTTPS, i.e.
 * behind a TLS-terminating proxy), and helmet's legacy hardening headers. Computed once: none
 * depends on the request.
 */
export function securityHeaders(csp: Directives = apiContentSecurityPolicy): Readonly<Record<string, string>> {
  return Object.freeze({
    'content-security-policy': cspHeader(csp),
    'cross-origin-opener-policy': 'same-origin',
    // A cross-origin app reads the API through CORS, which this does not affect.
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
    // Browsers' XSS auditors did more harm than good; helmet and OWASP say turn them off.
    'x-xss-protection': '0',
  });
}

/**
 * Security headers on every response of this server, errors and 404s included, in one sync
 * hook. Not @fastify/helmet: it rebuilds helmet's middleware from its options on every request
 * (option parsing, CSP directive parsing, a dozen closures, two async hooks), which cost CPU and
 * made the distributed gateway promote ~9 KB per request to old space (bench/README.md, issue 9).
 * Routes that serve HTML with other needs (/docs, the web apps, blobs) replace the CSP with
 * `reply.header`, which wins over these.
 */
export async function registerSecurityHeaders(app: HttpServer): Promise<void> {
  const headers = securityHeaders();
  const plugin = (instance: FastifyInstance, _options: unknown, done: () => void) => {
    instance.addHook('onRequest', (_request, reply, next) => {
      void reply.headers(headers);
      next();
    });
    done();
  };
  // Not encapsulated (what fastify-plugin does): the hook applies to every route of the server.
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  await app.register(plugin);
}
