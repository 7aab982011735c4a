import { SpanStatusCode, spanNames, type Logger, type Observability, type Span } from '@carshare/observability';
import type { Caller, CallContext } from './call-context.ts';
import { systemClock } from './clock.ts';
import { renderError, type RenderedError } from './error-body.ts';
import { parseGuardedJson } from './input-guard-plugin.ts';
import { DeadlineExceeded, InvalidArgument, httpStatusOf, type AppError } from './errors.ts';
import type { RpcMethodEndpoint, RpcServiceEndpoint } from './rpc-endpoint.ts';
import type { RpcTransport } from './rpc-transport.ts';
import { errorFromWire } from './rpc-wire-error.ts';

export interface InProcessRpcTransportOptions {
  /** The callee server's body limit: a call the wire would refuse as too large is refused here too. */
  bodyLimitBytes: number;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the call was aborted');
}

/**
 * The callee's answer, or the deadline's, whichever comes first: nobody waits past the deadline,
 * whatever the handler is still doing (as the HTTP server answers 504 from its timer). Whatever
 * the handler does afterwards is nobody's answer; it is still awaited here, so a late failure is
 * never an unhandled rejection.
 */
function answerByDeadline(
  answer: Promise<unknown>,
  serverCtx: InProcessRequestContext,
  endpoint: RpcMethodEndpoint,
  serverSignal: AbortSignal,
  callerSignal: AbortSignal,
  budgetMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      serverCtx.finish('DEADLINE_EXCEEDED', endpoint.path);
      // The caller's own deadline: the client reports it as it does when undici gives up. The
      // callee's cap: the callee answers 504, as its HTTP server would.
      reject(callerSignal.aborted ? abortReason(callerSignal) : DeadlineExceeded('DEADLINE_EXCEEDED', 'the request ran out of time', { budgetMs }));
    };
    if (serverSignal.aborted) {
      onAbort();
      return;
    }
    serverSignal.addEventListener('abort', onAbort, { once: true });
    answer.then(
      (value) => {
        serverSignal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: Error) => {
        serverSignal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * An error a call ended with, rendered as the HTTP error handler renders it; one that is not an
 * AppError is counted and logged once with its stack, as there. Shared by the transports that do
 * not go through that handler (in process, framed).
 */
export function renderCallError(error: unknown, ctx: CallContext, observability: Observability): RenderedError {
  const rendered = renderError(error, 'rpc', ctx.span.spanContext().traceId);
  if (rendered.internal) {
    observability.metrics.unhandledErrors.inc({ where: 'rpc' });
    ctx.log.error({ err: error }, 'unhandled error');
  }
  return rendered;
}

/**
 * The server side of one in-process call, as the callee's handler sees it. A class with plain
 * fields and a prototype getter (DESIGN.md §5: no literal with getters, no Object.create), and
 * no timer: the caller's one deadline timer, behind `signal`, is the callee's too.
 */
export class InProcessRequestContext implements CallContext {
  readonly requestId: string;
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly span: Span;
  caller: Caller | undefined;
  /** performance.now() when the call arrived, for the debug line. */
  readonly started: number;
  private finished: boolean;
  // A child logger costs ~9 µs: made only when a line is written for this call. The owner keeps
  // it, so a context derived from this one (a part with a shorter deadline) shares it.
  private readonly owner: InProcessRequestContext;
  private childLog: Logger | undefined;
  private readonly serviceLog: Logger;
  /** How the call arrived, for the debug line: `in-process`, or `framed` (rpc-framed-server.ts). */
  private readonly transport: string;

  constructor(requestId: string, deadline: number, signal: AbortSignal, span: Span, serviceLog: Logger, transport = 'in-process') {
    this.requestId = requestId;
    this.deadline = deadline;
    this.signal = signal;
    this.span = span;
    this.caller = undefined;
    this.started = performance.now();
    this.finished = false;
    this.owner = this;
    this.childLog = undefined;
    this.serviceLog = serviceLog;
    this.transport = transport;
  }

  get log(): Logger {
    const owner = this.owner;
    owner.childLog ??= owner.serviceLog.child({ requestId: owner.requestId, traceId: owner.span.spanContext().traceId });
    return owner.childLog;
  }

  /** Ends the server span once, when the answer is known or the deadline passed, whichever is first. */
  finish(code: string, route: string): void {
    const owner = this.owner;
    if (owner.finished) return;
    owner.finished = true;
    const span = owner.span;
    span.setAttribute('rpc.response.status_code', code);
    if (code !== 'OK' && httpStatusOf(code as AppError['code']) >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    if (owner.serviceLog.isLevelEnabled('debug')) {
      owner.log.debug({ route, code, durationMs: performance.now() - owner.started, transport: owner.transport }, 'request completed');
    }
  }
}

/**
 * RPC without a socket, for modules that share a process (`carshare up`). It calls the callee's
 * compiled endpoint (the same `invoke` its HTTP routes run) and keeps what the wire guarantees:
 * the input crosses as JSON text (the callee never holds the caller's objects, and the wire's
 * body limit and NUL rule apply), the output is the callee's serialised text parsed again (unknown
 * fields dropped by the output schema, a fresh object for the caller), errors are rendered as the
 * callee's error handler renders them and rebuilt as the HTTP client rebuilds them. The callee
 * gets a SERVER span that is a child of the client span and a context with the caller's deadline,
 * signal and request id; the calling service's signed identity is checked by the callee's
 * endpoint exactly as over HTTP (ADR 0012).
 */
export class InProcessRpcTransport implements RpcTransport {
  readonly kind = 'in-process';
  readonly #endpoint: RpcServiceEndpoint;
  readonly #bodyLimitBytes: number;

  constructor(endpoint: RpcServiceEndpoint, options: InProcessRpcTransportOptions) {
    this.#endpoint = endpoint;
    this.#bodyLimitBytes = options.bodyLimitBytes;
  }

  send(method: string, input: unknown, ctx: CallContext, clientSpan: Span, signal: AbortSignal, remainingMs: number, identity: string): Promise<unknown> {
    const service = this.#endpoint;
    const endpoint = service.method(method);
    if (!endpoint) {
      const message = `no route POST /rpc/${service.service}/${method}`;
      return Promise.reject(errorFromWire(service.service, 404, { error: { code: 'NOT_FOUND', reason: 'ROUTE_NOT_FOUND', message, details: {} } }));
    }
    // What the HTTP transport sends: an input JSON cannot carry (a BigInt, a cycle) fails here, on
    // the caller's side, as it does there.
    const text = JSON.stringify(input);
    const { tracing } = service.observability;
    // Parented as through the traceparent header over HTTP (remote parent, sampled flag only), so
    // sampling decides alike, without formatting and parsing the header.
    const span = tracing.startServerSpanUnder(spanNames.httpServer('POST', endpoint.path), clientSpan, {
      'rpc.service': service.service,
      'rpc.method': method,
      'network.transport': 'inproc',
    });
    if (remainingMs > service.maxDeadlineMs) return this.#sendCapped(endpoint, text, identity, ctx, span, signal);
    const serverCtx = new InProcessRequestContext(ctx.requestId, ctx.deadline, signal, span, service.observability.logger);
    return answerByDeadline(this.#dispatch(endpoint, text, identity, serverCtx), serverCtx, endpoint, signal, signal, remainingMs);
  }

  /**
   * The callee caps what a caller may ask for, as its HTTP server caps `x-deadline-ms`; only then
   * does an in-process call get a timer of its own (a background context with a long budget).
   */
  #sendCapped(endpoint: RpcMethodEndpoint, text: string | undefined, identity: string, ctx: CallContext, span: Span, callerSignal: AbortSignal): Promise<unknown> {
    const service = this.#endpoint;
    const controller = new AbortController();
    const relay = () => controller.abort(callerSignal.reason);
    callerSignal.addEventListener('abort', relay, { once: true });
    const timer = setTimeout(() => controller.abort(), service.maxDeadlineMs);
    const serverCtx = new InProcessRequestContext(ctx.requestId, systemClock.now() + service.maxDeadlineMs, controller.signal, span, service.observability.logger);
    const answer = answerByDeadline(this.#dispatch(endpoint, text, identity, serverCtx), serverCtx, endpoint, controller.signal, callerSignal, service.maxDeadlineMs);
    const release = () => {
      clearTimeout(timer);
      callerSignal.removeEventListener('abort', relay);
    };
    answer.then(release, release);
    return answer;
  }

  async close(): Promise<void> {}

  async #dispatch(endpoint: RpcMethodEndpoint, text: string | undefined, identity: string, ctx: InProcessRequestContext): Promise<unknown> {
    let code = 'OK';
    try {
      return JSON.parse(await endpoint.invoke(this.#receive(text), identity, ctx)) as unknown;
    } catch (error) {
      const rendered = renderCallError(error, ctx, this.#endpoint.observability);
      code = rendered.body.error.code;
      // Through JSON as on the wire: the caller's error holds no object of the callee's.
      throw errorFromWire(endpoint.service, rendered.status, JSON.parse(JSON.stringify(rendered.body)));
    } finally {
      ctx.finish(code, endpoint.path);
    }
  }

  /** The input as the callee's HTTP server parses it, refused where it refuses it. */
  #receive(text: string | undefined): unknown {
    if (text === undefined) return undefined;
    // A UTF-16 unit is at most 3 UTF-8 bytes: only long texts need counting.
    if (text.length * 3 > this.#bodyLimitBytes && Buffer.byteLength(text) > this.#bodyLimitBytes) {
      throw InvalidArgument('PAYLOAD_TOO_LARGE', 'Request body is too large');
    }
    return parseGuardedJson(text);
  }
}
