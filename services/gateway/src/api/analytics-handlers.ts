import { adminStatsRoutes, statsCsvColumns, type StatsPage, type analyticsRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** CSV when the query says so, else when the client asks for it: a link in a spreadsheet has no headers. */
function wantsCsv(request: FastifyRequest): boolean {
  const format = (request.query as { format?: string } | undefined)?.format;
  if (format !== undefined) return format === 'csv';
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(request.headers.accept ?? '');
}

/**
 * One RFC 4180 field. Keys come from event payloads (reasons, zones): a spreadsheet runs a cell
 * that starts with = + - @ as a formula, so such text is quoted behind an apostrophe (OWASP CSV
 * injection). Numbers are written as they are.
 */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n']/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function statsCsv(page: StatsPage): string {
  const lines = [statsCsvColumns.join(',')];
  for (const point of page.points) lines.push(statsCsvColumns.map((column) => csvField(point[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** The same request with the next page's cursor: the CSV's `Link: <…>; rel="next"`. */
function nextPageUrl(request: FastifyRequest, cursor: string): string {
  const url = new URL(request.url, 'http://gateway.invalid');
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}

/** The operator's business figures (issue 16): each route maps to one analytics RPC. */
export function registerAnalyticsRoutes(app: HttpServer, deps: PublicRouteDeps, analytics: RpcClient<typeof analyticsRpc.methods>): void {
  void app.register(async (scope) => {
    // This scope only: the JSON page becomes CSV on its way out, errors stay JSON.
    scope.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if (reply.statusCode !== 200 || typeof payload !== 'string' || !wantsCsv(request)) return payload;
      const page = JSON.parse(payload) as StatsPage;
      void reply.header('content-type', 'text/csv; charset=utf-8');
      void reply.header('content-disposition', `attachment; filename="carshare-${page.metric}-${page.bucket}.csv"`);
      void reply.header('vary', 'accept');
      if (page.nextCursor !== null) void reply.header('link', `<${nextPageUrl(request, page.nextCursor)}>; rel="next"`);
      return statsCsv(page);
    });
    // The scope is the same server, encapsulated; only its type provider is not carried over.
    registerPublicRoute(scope as unknown as HttpServer, adminStatsRoutes.query, deps, ({ query, ctx }) => {
      const { format: _format, ...stats } = query;
      return analytics.QueryStats(stats, ctx);
    });
  });
}
