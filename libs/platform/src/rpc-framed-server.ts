import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { spanNames } from '@carshare/observability';
import { systemClock, type Clock } from './clock.ts';
import { DeadlineSignals } from './deadline-signals.ts';
import { renderError } from './error-body.ts';
import { DeadlineExceeded, InvalidArgument, Unavailable, type AppError } from './errors.ts';
import type { HttpServer } from './http-server.ts';
import { parseGuardedJson } from './input-guard-plugin.ts';
import { InProcessRequestContext, renderCallError } from './rpc-in-process-transport.ts';
import type { RpcMethodEndpoint, RpcServiceEndpoint } from './rpc-endpoint.ts';
import {
  decodeCall,
  encodeAnswer,
  FrameDecoder,
  FrameError,
  framedRpcBodyLimitHeader,
  framedRpcPath,
  framedRpcProtocol,
  maxMetaBytes,
  type CallMeta,
  type DecodedCall,
} from './rpc-frames.ts';

const acceptors = new WeakMap<HttpServer, FramedRpcAcceptor>();

/**
 * Serves `endpoint` on the framed wire (ADR 0029) of `app`'s own port: a client that asks for an
 * HTTP/1.1 Upgrade to `carshare-rpc.1` on `/rpc` keeps that connection for its calls. The HTTP
 * routes stay (tools, probes, older callers); one acceptor per server, whatever the number of
 * contracts it serves.
 */
export function serveFramedRpc(app: HttpServer, endpoint: RpcServiceEndpoint, options: { clock?: Clock } = {}): void {
  let acceptor = acceptors.get(app);
  if (!acceptor) {
    acceptor = new FramedRpcAcceptor(app, options.clock ?? systemClock);
    acceptors.set(app, acceptor);
  }
  acceptor.add(endpoint);
}

function rawResponse(status: string): string {
  return `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}

function isCallMeta(value: unknown): value is CallMeta {
  return (
    Array.isArray(value) &&
    value.length === 6 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'string' &&
    typeof value[2] === 'number' &&
    typeof value[3] === 'string' &&
    (value[4] === null || typeof value[4] === 'string') &&
    typeof value[5] === 'string'
  );
}

/**
 * The callee's side of the framed wire. Each call runs through the method's `invoke`, as an HTTP
 * route and an in-process call do (validation, identity, handler, serialisation, RPC metric), with
 * what the HTTP server adds around it done here: the remaining budget capped by the server's
 * maximum and enforced (504 at the deadline, whatever the handler still does), a server span in
 * the caller's trace, the body limit and the NUL rule, 503 while closing, and a close that
 * answers every call in flight before it ends the connections.
 */
class FramedRpcAcceptor {
  readonly #server: Server;
  readonly #clock: Clock;
  readonly #services = new Map<string, RpcServiceEndpoint>();
  readonly #connections = new Set<FramedServerConnection>();
  readonly #signals = new DeadlineSignals();
  readonly bodyLimitBytes: number;
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(app: HttpServer, clock: Clock) {
    this.#server = app.server;
    this.#clock = clock;
    this.bodyLimitBytes = app.initialConfig.bodyLimit ?? 1024 * 1024;
    this.#server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(request, socket, head));
    // Before the HTTP server stops: calls already in flight are answered, new ones get 503.
    app.addHook('preClose', async () => this.#drain());
  }

  now(): number {
    return this.#clock.now();
  }

  add(endpoint: RpcServiceEndpoint): void {
    this.#services.set(endpoint.service, endpoint);
  }

  #upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    if (request.url !== framedRpcPath || request.headers.upgrade?.toLowerCase() !== framedRpcProtocol) {
      // Another listener's upgrade (a WebSocket route) or nobody's: refused only when nobody else listens.
      if (this.#server.listenerCount('upgrade') === 1) socket.end(rawResponse('400 Bad Request'));
      return;
    }
    if (this.#closing) {
      socket.end(rawResponse('503 Service Unavailable'));
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${framedRpcProtocol}\r\n${framedRpcBodyLimitHeader}: ${this.bodyLimitBytes}\r\n\r\n`);
    const connection = new FramedServerConnection(this, socket, this.bodyLimitBytes + maxMetaBytes + 6);
    this.#connections.add(connection);
    socket.once('close', () => {
      this.#connections.delete(connection);
      if (this.#connections.size === 0) this.#drained?.();
    });
    if (head.length > 0) connection.receive(head);
  }

  /** One call frame: answered exactly once, by the handler, an error or the deadline. */
  call(connection: FramedServerConnection, call: DecodedCall): void {
    let meta: unknown;
    try {
      meta = JSON.parse(call.meta);
    } catch {
      meta = undefined;
    }
    if (!isCallMeta(meta)) {
      connection.answerError(call.id, InvalidArgument('BAD_FRAME', 'the call meta is not [service, method, budgetMs, requestId, traceparent, identity]'), '');
      return;
    }
    const [serviceName, methodName, askedMs, requestId, traceparent, identity] = meta;
    const service = this.#services.get(serviceName);
    const endpoint = service?.method(methodName);
    if (!service || !endpoint) {
      const message = `no route POST /rpc/${serviceName}/${methodName}`;
      connection.answer(call.id, 404, JSON.stringify({ error: { code: 'NOT_FOUND', reason: 'ROUTE_NOT_FOUND', message, details: {}, traceId: '' } }));
      return;
    }
    const span = service.observability.tracing.startServerSpan(spanNames.httpServer('POST', endpoint.path), traceparent ?? undefined, {
      'rpc.service': service.service,
      'rpc.method': methodName,
      'network.transport': 'tcp',
    });
    const budgetMs = Math.min(askedMs, service.maxDeadlineMs);
    const now = this.#clock.now();
    const ctx = new InProcessRequestContext(requestId, now + budgetMs, this.#signals.signalFor(now + budgetMs, now), span, service.observability.logger, 'framed');
    if (this.#closing) {
      this.#finish(connection, call.id, ctx, endpoint, Unavailable('SERVER_CLOSING', `${service.service} is shutting down`, { service: service.service }), false);
      return;
    }
    if (!(budgetMs > 0)) {
      this.#finish(connection, call.id, ctx, endpoint, DeadlineExceeded('DEADLINE_EXCEEDED', 'the request arrived after its deadline'), false);
      return;
    }
    connection.inFlight++;
    new FramedCall(this, connection, call, endpoint, identity, ctx, budgetMs).run();
  }

  /** The body as the HTTP server would take it: within the limit, then by the input guard's rules. */
  receive(call: DecodedCall): unknown {
    if (call.bodyBytes > this.bodyLimitBytes) throw InvalidArgument('PAYLOAD_TOO_LARGE', 'Request body is too large');
    return call.bodyBytes === 0 ? undefined : parseGuardedJson(call.body);
  }

  /** Answers `outcome` (JSON text of the answer, or what was thrown) and ends the call's span. */
  #finish(connection: FramedServerConnection, id: number, ctx: InProcessRequestContext, endpoint: RpcMethodEndpoint, outcome: unknown, ok: boolean): void {
    if (ok) {
      connection.answer(id, 200, outcome as string);
      ctx.finish('OK', endpoint.path);
      return;
    }
    const rendered = renderCallError(outcome, ctx, (this.#services.get(endpoint.service) as RpcServiceEndpoint).observability);
    connection.answer(id, rendered.status, JSON.stringify(rendered.body));
    ctx.finish(rendered.body.error.code, endpoint.path);
  }

  settle(connection: FramedServerConnection, id: number, ctx: InProcessRequestContext, endpoint: RpcMethodEndpoint, outcome: unknown, ok: boolean): void {
    this.#finish(connection, id, ctx, endpoint, outcome, ok);
    connection.inFlight--;
    if (this.#closing && connection.inFlight === 0) connection.end();
  }

  /**
   * Each connection ends once the calls on it are answered (by their deadlines at the latest); a
   * connection its caller already dropped is not waited for, whatever its handlers still do.
   */
  async #drain(): Promise<void> {
    this.#closing = true;
    if (this.#connections.size === 0) return;
    const drained = new Promise<void>((resolve) => (this.#drained = resolve));
    for (const connection of this.#connections) if (connection.inFlight === 0) connection.end();
    await drained;
  }
}

/** One call in flight: the handler's answer or the deadline's, whichever comes first. */
class FramedCall {
  readonly #acceptor: FramedRpcAcceptor;
  readonly #connection: FramedServerConnection;
  readonly #call: DecodedCall;
  readonly #endpoint: RpcMethodEndpoint;
  readonly #identity: string;
  readonly #ctx: InProcessRequestContext;
  readonly #budgetMs: number;
  #answered = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(acceptor: FramedRpcAcceptor, connection: FramedServerConnection, call: DecodedCall, endpoint: RpcMethodEndpoint, identity: string, ctx: InProcessRequestContext, budgetMs: number) {
    this.#acceptor = acceptor;
    this.#connection = connection;
    this.#call = call;
    this.#endpoint = endpoint;
    this.#identity = identity;
    this.#ctx = ctx;
    this.#budgetMs = budgetMs;
  }

  run(): void {
    // A timer per call, as the HTTP server has per request. Not a listener on the context's
    // shared deadline signal: that signal lives as long as the deadline (seconds), and listeners
    // added to it and removed kept each call's objects in old space (~420 B promoted per call
    // against 3–10 with the timer, 2026-12-05, a framed GetUser-like callee at 25k calls/s).
    this.#timer = setTimeout(deadlinePassed, this.#budgetMs, this);
    let input: unknown;
    try {
      input = this.#acceptor.receive(this.#call);
    } catch (error) {
      this.#settle(error, false);
      return;
    }
    this.#endpoint.invoke(input, this.#identity, this.#ctx).then(
      (json) => this.#settle(json, true),
      (error: unknown) => this.#settle(error, false),
    );
  }

  /** The deadline passed: answered now; whatever the handler makes later is nobody's answer. */
  deadlinePassed(): void {
    this.#settle(DeadlineExceeded('DEADLINE_EXCEEDED', 'the request ran out of time', { budgetMs: this.#budgetMs }), false);
  }

  #settle(outcome: unknown, ok: boolean): void {
    if (this.#answered) return;
    // An answer made once the deadline passed (a handler that ended on its signal's abort, which
    // can run before this call's timer) is nobody's answer: the deadline's is.
    if (ok && this.#acceptor.now() >= this.#ctx.deadline) return this.deadlinePassed();
    this.#answered = true;
    clearTimeout(this.#timer);
    this.#acceptor.settle(this.#connection, this.#call.id, this.#ctx, this.#endpoint, outcome, ok);
  }
}

function deadlinePassed(call: FramedCall): void {
  call.deadlinePassed();
}

/** One upgraded socket: frames in, answers out, corked for a tick so answers to one read share a write. */
class FramedServerConnection {
  readonly #acceptor: FramedRpcAcceptor;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  #corked = false;
  /** Calls received and not answered yet. */
  inFlight = 0;

  constructor(acceptor: FramedRpcAcceptor, socket: Socket, maxFrameBytes: number) {
    this.#acceptor = acceptor;
    this.#socket = socket;
    this.#decoder = new FrameDecoder(maxFrameBytes);
    // The HTTP server's idle timeout was for a request; this connection lives as long as its caller.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // A reset peer: its calls' answers have nowhere to go, and 'close' follows.
    socket.on('error', () => socket.destroy());
  }

  receive(chunk: Buffer): void {
    try {
      this.#decoder.push(chunk, (frame) => this.#acceptor.call(this, decodeCall(frame)));
    } catch (error) {
      // A broken frame leaves no way to find the next one: the connection is dropped, and the
      // caller's calls on it fail as UNAVAILABLE (the client reconnects).
      if (error instanceof FrameError) this.#socket.destroy();
      else throw error;
    }
  }

  answer(id: number, status: number, body: string): void {
    const socket = this.#socket;
    if (socket.destroyed || !socket.writable) return;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(encodeAnswer(id, status, body));
  }

  answerError(id: number, error: AppError, traceId: string): void {
    const rendered = renderError(error, 'rpc', traceId);
    this.answer(id, rendered.status, JSON.stringify(rendered.body));
  }

  uncork(): void {
    this.#corked = false;
    this.#socket.uncork();
  }

  /**
   * Ends once what was written is handed to the kernel, then lets the socket go without waiting
   * for the caller's FIN: a caller that stopped reading would otherwise hold the server's close.
   */
  end(): void {
    const socket = this.#socket;
    socket.end(() => socket.destroy());
  }
}

function uncork(connection: FramedServerConnection): void {
  connection.uncork();
}
