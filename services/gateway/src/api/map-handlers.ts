import { createHash } from 'node:crypto';
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
  let prepared: { body: string; etag: string } | undefined;
  const prepare = () => {
    if (!prepared) {
      const body = JSON.stringify(generateCity(city).toGeoJson());
      prepared = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
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
      const { body, etag } = prepare();
      void reply.header('cache-control', cacheControl).header('etag', etag);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && (ifNoneMatch === '*' || ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag))) {
        return reply.code(304).send();
      }
      // Already JSON: sent as it is, not serialised again per request.
      return reply.code(200).type('application/json; charset=utf-8').send(body);
    },
  });
}
