import { SpanStatusCode, observerFor, spanNames, unmatchedRoute, type Logger, type ObserveValue, type Observability, type Span } from '@carshare/observability';
import { fastifyPlugin } from 'fastify-plugin';
import type { CallContext } from './call-context.ts';
import { headerNames } from './headers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's SERVER span; handlers reach it as `request.ctx.span`. */
    serverSpan: Span;
  }
}

export interface TelemetryOptions {
  observability: Observability;
}

export const telemetryPluginName = 'carshare-telemetry';

/**
 * A server span per request (child of the caller's `traceparent`) and RED metrics per route
 * template, never per raw path: the duration histogram's count by status is the rate and the
 * errors. Spans come from here, not from auto-instrumentation (DESIGN.md rule 8).
 */
export const telemetryPlugin = fastifyPlugin<TelemetryOptions>(
  (app, options, done) => {
    const { tracing, metrics } = options.observability;
    const duration = metrics.httpServerDuration;
    // One observer per route template, method and status seen (a bounded set: templates, never
    // raw paths), so an answer is counted without prom-client's label lookup (observerFor).
    const observers = new Map<string, ObserveValue>();
    const observerOf = (method: string, route: string, status: number): ObserveValue => {
      const key = `${status} ${method} ${route}`;
      let observe = observers.get(key);
      if (!observe) {
        observe = observerFor(duration, { http_request_method: method, http_route: route, http_response_status_code: status });
        observers.set(key, observe);
      }
      return observe;
    };
    app.decorateRequest('serverSpan', null as unknown as Span);

    app.addHook('onRequest', (request, _reply, next) => {
      const traceparent = request.headers[headerNames.traceparent];
      request.serverSpan = tracing.startServerSpan(
        spanNames.httpServer(request.method, request.routeOptions.url ?? unmatchedRoute),
        typeof traceparent === 'string' ? traceparent : undefined,
        { 'http.request.method': request.method, 'url.path': request.url },
      );
      next();
    });

    app.addHook('onResponse', (request, reply, next) => {
      const route = request.routeOptions.url ?? unmatchedRoute;
      const status = reply.statusCode;
      observerOf(request.method, route, status)(reply.elapsedTime / 1000);
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
      next();
    });
    done();
  },
  { name: telemetryPluginName, fastify: '5.x' },
);
