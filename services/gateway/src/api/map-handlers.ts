import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { generateCity, type CityOptions } from '@carshare/city';
import { ErrorResponse, mapRoutes } from '@carshare/contracts';
import type { HttpServer } from '@carshare/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PublicRouteDeps } from './public-route.ts';

/** The map changes only with the city's settings, i.e. with a deploy: a day in caches, then a cheap 304. */
const cacheControl = 'public, max-age=86400, stale-while-revalidate=604800';

/**
 * `GET /v1/map/streets`: the generated city the simulated fleet drives on, as GeoJSON, so the web
 * map needs no tile server. Rendered once (the same city options as the simulator's) and served
 * as prepared text with a strong ETag; `If-None-Match` answers 304 without a body.
 */
export function registerMapRoutes(app: HttpServer, deps: PublicRouteDeps, city: CityOptions = {}): void {
  const route = mapRoutes.streets;
  // Both forms made once: the streets are ~60 KB of JSON and ~6× smaller gzipped, the largest
  // part of the map screen's first load on a phone. Each form has its own strong ETag (RFC 9110).
  let prepared: { body: string; etag: string; gzipped: Buffer; gzippedEtag: string } | undefined;
  const prepare = () => {
    if (!prepared) {
      const body = JSON.stringify(generateCity(city).toGeoJson());
      const hash = createHash('sha256').update(body).digest('base64url').slice(0, 27);
      prepared = { body, etag: `"${hash}"`, gzipped: gzipSync(body, { level: 9 }), gzippedEtag: `"${hash}-gzip"` };
    }
    return prepared;
  };

  app.route({
    method: route.method,
    url: route.url,
    schema: {
      summary: route.summary,
      tags: [...route.tags],
      response: { 200: route.response, 304: { description: 'Not modified: the copy named by If-None-Match is current', type: 'null' }, 429: ErrorResponse },
    },
    onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
      // The default per-IP rule: after the first load a client mostly asks with If-None-Match.
      await deps.rateLimits.beforeBody(reply, undefined, { ip: request.ip, user: undefined });
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const map = prepare();
      const gzip = acceptsGzip(request.headers['accept-encoding']);
      const etag = gzip ? map.gzippedEtag : map.etag;
      void reply.header('cache-control', cacheControl).header('etag', etag).header('vary', 'accept-encoding');
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && (ifNoneMatch === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag))) {
        return reply.code(304).send();
      }
      // Already JSON (or its gzip): sent as it is, not serialised again per request.
      void reply.code(200).type('application/json; charset=utf-8');
      return gzip ? reply.header('content-encoding', 'gzip').send(map.gzipped) : reply.send(map.body);
    },
  });
}

/** Whether `Accept-Encoding` takes gzip: listed (or `*`) without `q=0`. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [name = '', ...parameters] = part.trim().toLowerCase().split(';');
    if (name.trim() !== 'gzip' && name.trim() !== '*') continue;
    const quality = parameters.map((parameter) => parameter.trim()).find((parameter) => parameter.startsWith('q='));
    return quality === undefined || Number(quality.slice(2)) > 0;
  }
  return false;
}
