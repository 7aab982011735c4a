import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SpanStatusCode, type Logger, type Observability } from '@carshare/observability';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { CallContext } from './call-context.ts';
import { systemClock, type Clock } from './clock.ts';
import { renderError, type ErrorStyle } from './error-body.ts';
import { DeadlineExceeded, InvalidArgument } from './errors.ts';
import { headerNames } from './headers.ts';
import { typeBoxValidatorCompiler } from './schema-validator.ts';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: CallContext;
  }
}

export interface ReadinessCheck {
  name: string;
  check(signal: AbortSignal): Promise<void>;
}

export interface HttpServerOptions {
  observability: Observability;
  clock?: Clock;
  errorStyle: ErrorStyle;
  bodyLimitBytes?: number;
  /** Budget given to a request that arrives without one. */
  defaultDeadlineMs?: number;
  /** No caller may ask for more than this. */
  maxDeadlineMs?: number;
  readiness?: ReadinessCheck[];
  readinessTimeoutMs?: number;
  trustProxy?: boolean;
  /**
   * Internal servers take the caller's remaining budget from `x-deadline-ms`; the public edge
   * does not, or any client could turn its own request into a 504.
   */
  trustDeadlineHeader?: boolean;
}

export type HttpServer = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, TypeBoxTypeProvider>;

const requestTimers = new WeakMap<FastifyRequest, NodeJS.Timeout>();

/** Errors raised before a request has a span (bad URL, broken HTTP) still get a trace id to quote. */
function freshTraceId(): string {
  return randomBytes(16).toString('hex');
}

const clientErrorStatus: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'request headers are too large'],
  HPE_INVALID_METHOD: [400, 'BAD_REQUEST', 'unknown HTTP method'],
};

/** Node's HTTP parser rejected the bytes: answer in our error shape on the raw socket, then close. */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const [status, code, message] = clientErrorStatus[error.code ?? ''] ?? [400, 'BAD_REQUEST', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message, details: {}, traceId: freshTraceId() } });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (Array.isArray(value)) return value.some(containsNul);
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([key, child]) => key.includes('\0') || containsNul(child));
  return false;
}

function parseBudget(raw: string | string[] | undefined): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const budget = Number(raw);
  return Number.isFinite(budget) ? budget : undefined;
}

/**
 * The one HTTP server shape every module uses: health, metrics, request ids, one deadline timer
 * per request, a server span per request, RED metrics per route, one error shape, bounded bodies,
 * and a close that drains in-flight requests.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { observability } = options;
  const clock = options.clock ?? systemClock;
  const defaultDeadlineMs = options.defaultDeadlineMs ?? 10_000;
  const maxDeadlineMs = options.maxDeadlineMs ?? 60_000;
  let closing = false;

  const app = Fastify({
    loggerInstance: observability.logger,
    // Per-request lines at info level halve throughput; our onResponse hook has the numbers.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    requestIdHeader: headerNames.requestId,
    genReqId: () => randomUUID(),
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    keepAliveTimeout: 65_000,
    trustProxy: options.trustProxy ?? false,
    routerOptions: { maxParamLength: 200 },
    clientErrorHandler: answerClientError,
    frameworkErrors: (error, _request, reply) => {
      const rendered = renderError(error, options.errorStyle, freshTraceId());
      void (reply as FastifyReply).code(rendered.status).send(rendered.body);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(typeBoxValidatorCompiler);
  // A JSON API: any other body type is a 415, not a string that fails validation later.
  app.removeContentTypeParser('text/plain');
  // PostgreSQL cannot store U+0000 in text, so a NUL in any string is refused at the door
  // instead of failing deep in a query as a 500.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parseJson(request, body as string, (error, parsed) => {
      // The text test is the cheap filter; the walk decides (an escaped backslash is no NUL).
      if (!error && (body as string).includes('\\u0000') && containsNul(parsed)) {
        done(InvalidArgument('INVALID_CHARACTER', 'strings may not contain the NUL character (\\u0000)'), undefined);
        return;
      }
      done(error, parsed);
    });
  });

  app.decorateRequest('ctx', null as unknown as CallContext);

  app.addHook('onRequest', (request, reply, done) => {
    const asked = options.trustDeadlineHeader === false ? undefined : parseBudget(request.headers[headerNames.deadline]);
    const budget = Math.min(asked ?? defaultDeadlineMs, maxDeadlineMs);
    const traceparent = request.headers[headerNames.traceparent];
    const span = observability.tracing.startServerSpan(
      `${request.method} ${request.routeOptions.url ?? 'unmatched'}`,
      typeof traceparent === 'string' ? traceparent : undefined,
      { 'http.request.method': request.method, 'url.path': request.url },
    );
    const deadline = clock.now() + budget;
    const requestLog = request.log as Logger;
    let log: Logger | undefined;
    // An AbortController costs ~6 µs here and most requests never wait on anything abortable (a
    // cache hit, a health check): it is made when first asked for, already aborted if late.
    let controller: AbortController | undefined;
    let expired = budget <= 0;
    request.ctx = {
      requestId: request.id,
      deadline,
      get signal() {
        if (!controller) {
          controller = new AbortController();
          if (expired) controller.abort();
        }
        return controller.signal;
      },
      span,
      // A child logger costs ~9 µs: made only when a line is written for this request.
      get log() {
        log ??= requestLog.child({ traceId: span.spanContext().traceId });
        return log;
      },
      caller: undefined,
    };
    if (expired) {
      done(DeadlineExceeded('DEADLINE_EXCEEDED', 'the request arrived after its deadline'));
      return;
    }
    const timer = setTimeout(() => {
      expired = true;
      controller?.abort();
      // Nobody waits past the deadline: answer now, whatever the handler is still doing.
      if (!reply.sent) void reply.send(DeadlineExceeded('DEADLINE_EXCEEDED', 'the request ran out of time', { budgetMs: budget }));
    }, budget);
    requestTimers.set(request, timer);
    done();
  });

  // After authentication (route onRequest hooks), before validation: who may call comes first.
  app.addHook('preValidation', (request, _reply, done) => {
    const queryStart = request.url.indexOf('?');
    if (queryStart >= 0 && request.url.includes('%00', queryStart)) {
      done(InvalidArgument('INVALID_CHARACTER', 'the query string may not contain the NUL character (%00)'));
      return;
    }
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    clearTimeout(requestTimers.get(request));
    const route = request.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    observability.metrics.httpServerDuration.observe(
      { method: request.method, route, status_code: status },
      reply.elapsedTime / 1000,
    );
    if ((request.log as Logger).isLevelEnabled('debug')) {
      request.ctx.log.debug({ method: request.method, route, statusCode: status, durationMs: reply.elapsedTime }, 'request completed');
    }
    const span = request.ctx?.span;
    if (span) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const traceId = request.ctx?.span.spanContext().traceId ?? '';
    const rendered = renderError(error, options.errorStyle, traceId);
    if (rendered.internal) {
      observability.metrics.unhandledErrors.inc({ where: 'http' });
      (request.ctx?.log ?? request.log).error({ err: error }, 'unhandled error');
    }
    if (rendered.status === 503 || rendered.status === 429) {
      const retryAfterMs = (error as { details?: { retryAfterMs?: unknown } }).details?.retryAfterMs;
      if (typeof retryAfterMs === 'number') void reply.header('retry-after', Math.max(1, Math.ceil(retryAfterMs / 1000)));
    }
    return reply.code(rendered.status).send(rendered.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const traceId = request.ctx?.span.spanContext().traceId ?? '';
    const body = options.errorStyle === 'public'
      ? { error: { code: 'ROUTE_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: {}, traceId } }
      : { error: { code: 'NOT_FOUND', reason: 'ROUTE_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, details: {}, traceId } };
    return reply.code(404).send(body);
  });

  app.get('/health/live', { logLevel: 'silent' }, async () => ({ status: 'ok' }));

  app.get('/health/ready', { logLevel: 'silent' }, async (_request, reply) => {
    if (closing) return reply.code(503).send({ status: 'closing', checks: {} });
    const checks: Record<string, string> = {};
    let ready = true;
    const timeoutMs = options.readinessTimeoutMs ?? 2_000;
    await Promise.all(
      (options.readiness ?? []).map(async (readiness) => {
        const { name } = readiness;
        const signal = AbortSignal.timeout(timeoutMs);
        try {
          await Promise.race([
            readiness.check(signal),
            new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error(`timed out after ${timeoutMs} ms`)))),
          ]);
          checks[name] = 'ok';
        } catch (error) {
          ready = false;
          checks[name] = (error as Error).message || 'failed';
        }
      }),
    );
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });

  app.get('/metrics', { logLevel: 'silent' }, async (_request, reply) => {
    const registry = observability.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  return app;
}
