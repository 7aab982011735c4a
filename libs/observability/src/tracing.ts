import {
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  SpanStatusCode,
  defaultTextMapGetter,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  ParentBasedSampler,
  RandomIdGenerator,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { CompactOtlpSpanProcessor, otlpHeadersFromEnv } from './compact-otlp-span-processor.ts';
import { spanNames } from './telemetry-names.ts';

export { SpanKind, SpanStatusCode, type Span, type Context };

export interface TracingOptions {
  service: string;
  /** OTLP/HTTP collector base URL; without it spans still carry ids for logs but go nowhere. */
  otlpEndpoint?: string;
  /** Share of new traces recorded; a parent's decision always wins (ParentBased). */
  sampleRatio: number;
}

export interface Tracing {
  tracer: Tracer;
  /** Starts a span whose parent comes from a W3C `traceparent`, if any. */
  startServerSpan(name: string, traceparent: string | undefined, attributes?: Record<string, string | number>): Span;
  /**
   * The server span of a call made in this process (the in-process RPC transport): parented on
   * `parent` exactly as `startServerSpan(name, traceparentOf(parent))` would be (a remote parent,
   * its sampled flag, no tracestate), without formatting and parsing the header.
   */
  startServerSpanUnder(name: string, parent: Span, attributes?: Record<string, string | number>): Span;
  startClientSpan(name: string, parent: Span | undefined, attributes?: Record<string, string | number>): Span;
  /**
   * Runs an event handler inside a CONSUMER span whose parent is the producer's `traceparent`,
   * so what a consumer does joins the trace of the request that caused the event. Its shape is
   * the messaging library's EventTracing hook.
   */
  consume<T>(
    event: { type: string; traceparent?: string },
    delivery: { group: string; attempt: number },
    work: (traceparent: string | undefined) => Promise<T>,
  ): Promise<T>;
  /** The `traceparent` header value that makes a downstream span a child of `span`. */
  traceparentOf(span: Span): string | undefined;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();
const ids = new RandomIdGenerator();

export function createTracing(options: TracingOptions): Tracing {
  const spanProcessors: SpanProcessor[] = [];
  const rootRatio = options.otlpEndpoint ? options.sampleRatio : 0;
  const rootSampler = new TraceIdRatioBasedSampler(rootRatio);
  // The trace id a root span about to be recorded must get: chosen (and sampled) by the fast path
  // below, handed to the SDK through its id generator, which asks for it synchronously inside
  // startSpan. The SDK's own sampler then decides the same way on the same id.
  let chosenTraceId: string | undefined;
  const idGenerator = {
    generateTraceId(): string {
      const chosen = chosenTraceId;
      chosenTraceId = undefined;
      return chosen ?? ids.generateTraceId();
    },
    generateSpanId: () => ids.generateSpanId(),
  };
  if (options.otlpEndpoint) {
    const url = `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces`;
    // Spans kept as encoded bytes until their batch leaves, not as objects: V8 promoted every
    // sampled span held by the SDK's BatchSpanProcessor (compact-otlp-span-processor.ts).
    spanProcessors.push(new CompactOtlpSpanProcessor({ url, scheduledDelayMillis: 1000, headers: otlpHeadersFromEnv(process.env) }));
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.service }),
    // With nowhere to send spans, recording them is pure cost; unrecorded spans still carry
    // trace ids for logs and error bodies, and a caller's sampled flag still travels on.
    sampler: new ParentBasedSampler({ root: rootSampler }),
    idGenerator,
    spanProcessors,
  });
  const tracer = provider.getTracer('carshare');
  // Unsampled fast path: what ParentBased(TraceIdRatio) decides without looking at the trace id
  // (a parent that is not sampled, or a root ratio of 0) is decided here, and the span is the
  // SDK's own unsampled form (a non-recording span around fresh ids) without the sampler,
  // context and attribute work. The trace id and the parent's flags and tracestate still travel.
  const rootNeverSampled = !options.otlpEndpoint || options.sampleRatio <= 0;

  function unsampledChild(parent: SpanContext | undefined): Span | undefined {
    if (parent === undefined) {
      const traceId = ids.generateTraceId();
      // The root ratio decided here, on the trace id, as the SDK's sampler would (most roots are
      // not sampled: 90 % at the default 10 %); a sampled one goes to the SDK with this very id.
      if (rootNeverSampled || rootSampler.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.NOT_RECORD) {
        return trace.wrapSpanContext({ traceId, spanId: ids.generateSpanId(), traceFlags: TraceFlags.NONE });
      }
      chosenTraceId = traceId;
      return undefined;
    }
    if ((parent.traceFlags & TraceFlags.SAMPLED) !== 0 || !isSpanContextValid(parent)) return undefined;
    return trace.wrapSpanContext({ traceId: parent.traceId, spanId: ids.generateSpanId(), traceFlags: TraceFlags.NONE, traceState: parent.traceState });
  }

  // What W3CTraceContextPropagator.inject writes as `traceparent`, without a context and a carrier.
  function traceparentOf(span: Span): string | undefined {
    const context = span.spanContext();
    if (!isSpanContextValid(context)) return undefined;
    return `00-${context.traceId}-${context.spanId}-0${Number(context.traceFlags || TraceFlags.NONE).toString(16)}`;
  }

  function contextOf(parent: Span | undefined): Context {
    return parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  }

  return {
    tracer,
    startServerSpan(name, traceparent, attributes) {
      const parentContext = traceparent
        ? propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter)
        : ROOT_CONTEXT;
      return unsampledChild(trace.getSpanContext(parentContext)) ?? tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parentContext);
    },
    startServerSpanUnder(name, parent, attributes) {
      const context = parent.spanContext();
      if (!isSpanContextValid(context)) return unsampledChild(undefined) ?? tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, ROOT_CONTEXT);
      // What the propagator extracts from traceparentOf(parent): only the sampled bit travels.
      const remote: SpanContext = { traceId: context.traceId, spanId: context.spanId, traceFlags: context.traceFlags & TraceFlags.SAMPLED, isRemote: true };
      return unsampledChild(remote) ?? tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, trace.setSpanContext(ROOT_CONTEXT, remote));
    },
    startClientSpan(name, parent, attributes) {
      return unsampledChild(parent?.spanContext()) ?? tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, contextOf(parent));
    },
    async consume(event, delivery, work) {
      const parentContext = event.traceparent
        ? propagator.extract(ROOT_CONTEXT, { traceparent: event.traceparent }, defaultTextMapGetter)
        : ROOT_CONTEXT;
      const span = tracer.startSpan(
        spanNames.eventConsumer(event.type),
        { kind: SpanKind.CONSUMER, attributes: { 'messaging.consumer.group.name': delivery.group, 'messaging.delivery.attempt': delivery.attempt } },
        parentContext,
      );
      try {
        return await work(traceparentOf(span));
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
    traceparentOf,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
