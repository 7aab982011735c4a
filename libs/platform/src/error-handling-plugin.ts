import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Observability } from '@carshare/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fastifyPlugin } from 'fastify-plugin';
import type { CallContext } from './call-context.ts';
import { renderError, type ErrorStyle } from './error-body.ts';
import { requestLifecyclePluginName } from './request-lifecycle-plugin.ts';

/** Errors raised before a request has a span (bad URL, broken HTTP) still get a trace id to quote. */
function freshTraceId(): string {
  return randomBytes(16).toString('hex');
}

function traceIdOf(request: FastifyRequest): string {
  return (request.ctx as CallContext | null)?.span.spanContext().traceId ?? '';
}

const clientErrorStatus: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'request headers are too large'],
  HPE_INVALID_METHOD: [400, 'BAD_REQUEST', 'unknown HTTP method'],
  // Node's headersTimeout / requestTimeout (slowloris): the request did not arrive in time.
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'the request did not arrive in time'],
};

const statusText: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * Node's HTTP server gave up on the bytes (a parse error, or a request too slow to arrive): answer
 * in our error shape, then close. With a response already in flight for that request (headers
 * read, body still trickling in) the answer goes through that response, never as raw bytes that
 * would interleave with it; with its headers already sent the socket is just destroyed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  const [status, code, message] = clientErrorStatus[error.code ?? ''] ?? [400, 'BAD_REQUEST', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message, details: {}, traceId: freshTraceId() } });
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight) {
    if (inFlight.headersSent || !socket.writable) {
      socket.destroy();
      return;
    }
    inFlight.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    inFlight.end(body, () => socket.destroy());
    return;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${statusText[status] ?? 'Bad Request'}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    // end() only half-closes: a client that keeps trickling bytes must not keep the socket.
    () => socket.destroy(),
  );
}

/** Fastify's `frameworkErrors`: a request it refused before routing (a bad URL) gets our shape too. */
export function frameworkErrorAnswer(style: ErrorStyle): (error: Error, request: unknown, reply: unknown) => void {
  return (error, _request, reply) => {
    const rendered = renderError(error, style, freshTraceId());
    void (reply as FastifyReply).code(rendered.status).send(rendered.body);
  };
}

/**
 * The methods each route template takes, matched against a concrete path only when no route
 * matched it (the 404 path), so a known path asked with the wrong method gets 405 and `Allow`.
 * Catch-all templates (`*`: CORS preflight, static files) say nothing about a path and are left out.
 */
export class AllowedMethods {
  private readonly byTemplate = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(method: string | string[], url: string): void {
    if (url === '*' || url === '/*') return;
    let entry = this.byTemplate.get(url);
    if (!entry) {
      const pattern = url
        .split('/')
        .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      entry = { pattern: new RegExp(`^${pattern}$`), methods: new Set() };
      this.byTemplate.set(url, entry);
    }
    for (const one of Array.isArray(method) ? method : [method]) {
      entry.methods.add(one);
      if (one === 'GET') entry.methods.add('HEAD');
    }
  }

  of(path: string): string[] {
    const methods = new Set<string>();
    for (const { pattern, methods: taken } of this.byTemplate.values()) {
      if (pattern.test(path)) for (const method of taken) methods.add(method);
    }
    return [...methods].sort();
  }
}

export interface ErrorHandlingOptions {
  observability: Observability;
  /**
   * `public`: `{error:{code: <reason>, message, details, traceId}}` for the edge;
   * `rpc`: the canonical code plus the reason, for callers that map it again.
   */
  errorStyle: ErrorStyle;
  /** Filled by the server's onRoute hook (added before any route): answers 405 instead of 404. */
  allowed: AllowedMethods;
}

export const errorHandlingPluginName = 'carshare-error-handling';

/**
 * One error shape for everything a route throws and for unknown routes (DESIGN.md rule 6):
 * typed errors map to their status, unknown ones to a 500 that names the trace and is logged
 * once with its stack; 503 and 429 carry Retry-After when the error knows when to come back.
 */
export const errorHandlingPlugin = fastifyPlugin<ErrorHandlingOptions>(
  (app, options, done) => {
    const { errorStyle } = options;
    const { unhandledErrors } = options.observability.metrics;

    app.setErrorHandler((error, request, reply) => {
      const rendered = renderError(error, errorStyle, traceIdOf(request));
      if (rendered.internal) {
        unhandledErrors.inc({ where: 'http' });
        ((request.ctx as CallContext | null)?.log ?? request.log).error({ err: error }, 'unhandled error');
      }
      if (rendered.status === 503 || rendered.status === 429) {
        const retryAfterMs = (error as { details?: { retryAfterMs?: unknown } }).details?.retryAfterMs;
        if (typeof retryAfterMs === 'number') void reply.header('retry-after', Math.max(1, Math.ceil(retryAfterMs / 1000)));
      }
      return reply.code(rendered.status).send(rendered.body);
    });

    const { allowed } = options;

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      const traceId = traceIdOf(request);
      const methods = allowed.of(path);
      // A path a wildcard route takes with this very method was refused by that route's matcher
      // (e.g. an encoded `..` in a static path): no other method would do, so it stays a 404.
      if (methods.length > 0 && !methods.includes(request.method)) {
        // The path exists with other methods: 405 and what it does take (RFC 9110 §15.5.6).
        void reply.header('allow', methods.join(', '));
        const message = `${request.method} is not allowed on ${path}; use ${methods.join(', ')}`;
        const body = errorStyle === 'public'
          ? { error: { code: 'METHOD_NOT_ALLOWED', message, details: { allow: methods }, traceId } }
          : { error: { code: 'INVALID_ARGUMENT', reason: 'METHOD_NOT_ALLOWED', message, details: { allow: methods }, traceId } };
        return reply.code(405).send(body);
      }
      const message = `no route ${request.method} ${path}`;
      const body = errorStyle === 'public'
        ? { error: { code: 'ROUTE_NOT_FOUND', message, details: {}, traceId } }
        : { error: { code: 'NOT_FOUND', reason: 'ROUTE_NOT_FOUND', message, details: {}, traceId } };
      return reply.code(404).send(body);
    });
    done();
  },
  { name: errorHandlingPluginName, fastify: '5.x', dependencies: [requestLifecyclePluginName] },
);
