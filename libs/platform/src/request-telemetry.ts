import { SpanStatusCode, observerFor, spanNames, unmatchedRoute, type Logger, type ObserveValue, type Observability, type Span } from '@carshare/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallContext } from './call-context.ts';
import { headerNames } from './headers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's SERVER span; handlers reach it as `request.ctx.span`. */
    serverSpan: Span;
    /**
     * Its route template, read once: fastify's `request.routeOptions` builds a new object of a
     * dozen fields on every read.
     */
    routeTemplate: string;
  }
}

/**
 * A server span per request (child of the caller's `traceparent`) and RED metrics per route
 * template, never per raw path: the duration histogram's count by status is the rate and the
 * errors. Spans come from here, not from auto-instrumentation (DESIGN.md rule 8). Its two steps
 * run in the request lifecycle's one onRequest and one onResponse hook.
 */
export class RequestTelemetry {
  readonly #tracing: Observability['tracing'];
  readonly #duration: Observability['metrics']['httpServerDuration'];
  // One observer per route template, method and status seen (a bounded set: templates, never
  // raw paths), so an answer is counted without prom-client's label lookup (observerFor).
  readonly #observers = new Map<string, ObserveValue>();

  constructor(observability: Observability) {
    this.#tracing = observability.tracing;
    this.#duration = observability.metrics.httpServerDuration;
  }

  start(request: FastifyRequest): void {
    const traceparent = request.headers[headerNames.traceparent];
    const route = request.routeOptions.url ?? unmatchedRoute;
    request.routeTemplate = route;
    request.serverSpan = this.#tracing.startServerSpan(
      spanNames.httpServer(request.method, route),
      typeof traceparent === 'string' ? traceparent : undefined,
      { 'http.request.method': request.method, 'url.path': request.url },
    );
  }

  finish(request: FastifyRequest, reply: FastifyReply): void {
    // Null when the request failed before routing (a bad URL): start() never ran.
    const route = (request.routeTemplate as string | null) ?? unmatchedRoute;
    const status = reply.statusCode;
    this.#observerOf(request.method, route, status)(reply.elapsedTime / 1000);
    if ((request.log as Logger).isLevelEnabled('debug')) {
      ((request.ctx as CallContext | null)?.log ?? request.log).debug({ method: request.method, route, statusCode: status, durationMs: reply.elapsedTime }, 'request completed');
    }
    // Null when the request failed before routing (a bad URL): no span was started.
    const span = request.serverSpan as Span | null;
    if (span) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  }

  #observerOf(method: string, route: string, status: number): ObserveValue {
    const key = `${status} ${method} ${route}`;
    let observe = this.#observers.get(key);
    if (!observe) {
      observe = observerFor(this.#duration, { http_request_method: method, http_route: route, http_response_status_code: status });
      this.#observers.set(key, observe);
    }
    return observe;
  }
}
