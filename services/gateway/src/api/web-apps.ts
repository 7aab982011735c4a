import { existsSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpServer } from '@carshare/platform';
import { cspHeader, webAppContentSecurityPolicy } from './security-headers.ts';

/** One built single-page app and where it is mounted. */
export interface WebAppMount {
  /** Shown on the "not built" page. */
  title: string;
  /** `/` or `/name` (no trailing slash). */
  prefix: string;
  /** Vite's output folder: index.html plus hashed files under assets/. */
  distDir: string;
}

export interface WebAppsOptions {
  /** Default: the rider app at `/` and the operator console at `/admin`, from this checkout's apps/. */
  apps?: readonly WebAppMount[];
  /** Origins of a configured map tile server, admitted by the CSP (none: the map is GeoJSON from this gateway). */
  tileOrigins?: readonly string[];
}

/**
 * Paths that belong to the API and the platform, never to the app at `/`: an unknown one stays the
 * API's JSON 404 instead of the app's HTML, which a client would otherwise try to parse.
 */
export const reservedPrefixes = ['/v1', '/rpc', '/docs', '/health', '/metrics', '/blobs', '/gbfs', '/.well-known'] as const;

/**
 * Vite puts every content-hashed file under assets/: its name changes with its bytes, so a browser
 * may keep it for a year without asking. Everything else (index.html, the service worker, the
 * manifest) keeps its name across builds and must be revalidated, or a deploy would never reach
 * browsers that have the old one.
 */
export const immutableCacheControl = 'public, max-age=31536000, immutable';
export const revalidateCacheControl = 'no-cache';
const hashedFolder = 'assets/';

/**
 * The rider app at `/` and the operator console at `/admin`, served from their built files. The
 * dist folders are looked up on every request: building while the gateway runs takes effect
 * without a restart, and a missing build answers a 503 page that says how to build, never a crash.
 */
export async function registerWebApps(app: HttpServer, options: WebAppsOptions = {}): Promise<void> {
  const apps = options.apps ?? defaultWebApps();
  const csp = cspHeader(webAppContentSecurityPolicy(options.tileOrigins ?? []));
  // Only the reply decorator (sendFile with @fastify/send's range, ETag and traversal handling):
  // the routes are ours, because a plain static route cannot fall back to index.html.
  // preCompressed: the build writes .br and .gz beside each text file (scripts/build-web.mjs),
  // sent to browsers that accept them (the app's 440 KB entry script is 130 KB gzipped); the
  // gateway compresses nothing at request time.
  await app.register(fastifyStatic, { serve: false, root: apps[0]?.distDir ?? process.cwd(), preCompressed: true });

  for (const mount of apps) {
    const handler = (request: FastifyRequest, reply: FastifyReply) => serve(mount, csp, request, reply);
    if (mount.prefix === '/') {
      app.get('/', handler);
      app.get('/*', handler);
    } else {
      app.get(mount.prefix, handler);
      app.get(`${mount.prefix}/*`, handler);
    }
  }
}

function serve(mount: WebAppMount, csp: string, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const wildcard = (request.params as { '*'?: string })['*'] ?? '';
  const path = request.url.split('?', 1)[0] ?? '/';
  if (mount.prefix === '/' && reservedPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) {
    reply.callNotFound();
    return reply;
  }
  // The app's pages replace the API's `default-src 'none'` with one that lets them load their own
  // scripts, styles, images and map workers, and still nothing from elsewhere.
  reply.header('content-security-policy', csp);
  const root = resolve(mount.distDir);
  const index = join(root, 'index.html');
  if (!existsSync(index)) return notBuilt(mount, reply);

  // The same URL answers br, gzip or plain bytes by Accept-Encoding: a shared cache must key on it.
  reply.header('vary', 'accept-encoding');
  const relative = wildcard.replace(/^\/+/, '');
  if (relative !== '') {
    const file = resolve(root, relative);
    if (file.startsWith(root + sep) && isFile(file)) {
      reply.header('cache-control', relative.startsWith(hashedFolder) ? immutableCacheControl : revalidateCacheControl);
      reply.sendFile(relative, root, { cacheControl: false, dotfiles: 'deny' });
      return reply;
    }
    // A missing script or image answers 404: index.html in its place would fail to parse as
    // JavaScript with a confusing MIME error instead of a clear missing file.
    if (extname(relative) !== '') {
      reply.callNotFound();
      return reply;
    }
  }
  // Any other path is one of the app's own screens (the SPA router reads it).
  reply.header('cache-control', revalidateCacheControl);
  reply.sendFile('index.html', root, { cacheControl: false });
  return reply;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function notBuilt(mount: WebAppMount, reply: FastifyReply): FastifyReply {
  const title = escapeHtml(`${mount.title} is not built`);
  return reply
    .code(503)
    .header('cache-control', 'no-store')
    .header('retry-after', '30')
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>` +
        `<h1>${title}</h1>` +
        `<p>The gateway serves the built files from <code>${escapeHtml(mount.distDir)}</code>, which has no index.html yet.</p>` +
        '<p>Build it with <code>node scripts/build-web.mjs</code> (<code>npm start</code> does it when the build is missing or stale), ' +
        'or run <code>npm run dev</code> for a hot-reloading development server.</p>' +
        '<p>The API itself is up: see <a href="/docs">/docs</a>.</p></body></html>',
    );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * The checkout's apps, found by walking up from this module to the folder that holds apps/: the
 * same answer from the TypeScript source (services/gateway/src/api) and from the CLI bundle
 * (dist/carshare.mjs). A deployment without the apps gets the 503 page at `/`.
 */
export function defaultWebApps(from: string = dirname(fileURLToPath(import.meta.url))): WebAppMount[] {
  const root = findRepoRoot(from) ?? process.cwd();
  return [
    { title: 'The rider app', prefix: '/', distDir: join(root, 'apps', 'rider-web', 'dist') },
    { title: 'The operator console', prefix: '/admin', distDir: join(root, 'apps', 'admin-web', 'dist') },
  ];
}

function findRepoRoot(from: string): string | undefined {
  for (let folder = from; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'apps', 'rider-web', 'package.json'))) return folder;
    if (dirname(folder) === folder) return undefined;
  }
}
