import { SpanStatusCode, spanNames, unmatchedRoute, type Logger, type Observability, type Span } from '@carshare/observability';
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
      duration.observe({ http_request_method: request.method, http_route: route, http_response_status_code: status }, reply.elapsedTime / 1000);
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
