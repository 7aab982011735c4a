import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Observability } from '@carshare/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fastifyPlugin } from 'fastify-plugin';
import type { CallContext } from './call-context.ts';
import { renderError, type ErrorStyle } from './error-body.ts';
import { telemetryPluginName } from './telemetry-plugin.ts';

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
};

/** Node's HTTP parser rejected the bytes: answer in our error shape on the raw socket, then close. */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const [status, code, message] = clientErrorStatus[error.code ?? ''] ?? [400, 'BAD_REQUEST', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message, details: {}, traceId: freshTraceId() } });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Fastify's `frameworkErrors`: a request it refused before routing (a bad URL) gets our shape too. */
export function frameworkErrorAnswer(style: ErrorStyle): (error: Error, request: unknown, reply: unknown) => void {
  return (error, _request, reply) => {
    const rendered = renderError(error, style, freshTraceId());
    void (reply as FastifyReply).code(rendered.status).send(rendered.body);
  };
}

export interface ErrorHandlingOptions {
  observability: Observability;
  /**
   * `public`: `{error:{code: <reason>, message, details, traceId}}` for the edge;
   * `rpc`: the canonical code plus the reason, for callers that map it again.
   */
  errorStyle: ErrorStyle;
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

    app.setNotFoundHandler((request, reply) => {
      const message = `no route ${request.method} ${request.url.split('?')[0]}`;
      const traceId = traceIdOf(request);
      const body = errorStyle === 'public'
        ? { error: { code: 'ROUTE_NOT_FOUND', message, details: {}, traceId } }
        : { error: { code: 'NOT_FOUND', reason: 'ROUTE_NOT_FOUND', message, details: {}, traceId } };
      return reply.code(404).send(body);
    });
    done();
  },
  { name: errorHandlingPluginName, fastify: '5.x', dependencies: [telemetryPluginName] },
);
