import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export type GatePhase = 'request' | 'response';

/** A call the gate is holding: the test decides what becomes of it. */
export interface HeldCall {
  method: string;
  phase: GatePhase;
  /** Lets the call go on: forwards the request, or delivers the answer already received. */
  release(): void;
  /** Breaks the caller's connection: at `request` the callee never sees the call, at `response` it did the work and the answer is lost. */
  cut(): void;
}

interface Armed {
  method: string;
  phase: GatePhase;
  resolve(held: HeldCall): void;
}

/**
 * An HTTP relay in front of one service's RPC endpoint (`POST /rpc/<service>/<Method>`) that can
 * hold the next call of a method, before forwarding it or after the callee answered, and tell the
 * test. That is how the crash test lands a SIGKILL inside a given saga step: the caller is provably
 * waiting on exactly that call when it dies, with the callee's effect either not yet made
 * (`request`) or made but unacknowledged (`response`), the case a saga must get right.
 * Everything not armed passes through untouched.
 */
export class RpcGate {
  readonly url: string;
  readonly #server: Server;
  readonly #agent: Agent;
  readonly #target: { host: string; port: number };
  #armed: Armed[] = [];

  private constructor(server: Server, agent: Agent, target: { host: string; port: number }) {
    this.#server = server;
    this.#agent = agent;
    this.#target = target;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(target: { port: number; host?: string }): Promise<RpcGate> {
    const agent = new Agent({ keepAlive: true });
    const handlers: { handle?: (incoming: IncomingMessage, outgoing: ServerResponse) => Promise<void> } = {};
    const server = createServer((incoming, outgoing) => void handlers.handle?.(incoming, outgoing));
    // A relay never holds a connection open past its peer: a killed caller's sockets close here too.
    server.keepAliveTimeout = 5_000;
    // A relay of HTTP calls: it refuses the framed wire's upgrade (ADR 0029) as an HTTP-only proxy
    // would, and its callers send their calls over HTTP through it, where it can hold them.
    server.on('upgrade', (_request, socket: Duplex) => socket.end('HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const gate = new RpcGate(server, agent, { host: target.host ?? '127.0.0.1', port: target.port });
    handlers.handle = (incoming, outgoing) => gate.#handle(incoming, outgoing);
    return gate;
  }

  /** Resolves when the next call of `method` (e.g. `Authorize`) is held at `phase`. */
  hold(method: string, phase: GatePhase): Promise<HeldCall> {
    return new Promise<HeldCall>((resolve) => this.#armed.push({ method, phase, resolve }));
  }

  /** Forgets holds that never matched (a round that ended another way). */
  disarm(): void {
    this.#armed = [];
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #take(method: string, phase: GatePhase): Armed | undefined {
    const index = this.#armed.findIndex((armed) => armed.method === method && armed.phase === phase);
    if (index < 0) return undefined;
    return this.#armed.splice(index, 1)[0];
  }

  async #handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = /^\/rpc\/[^/]+\/([A-Za-z]+)/.exec(incoming.url ?? '')?.[1] ?? '';
    const cut = () => outgoing.socket?.destroy();

    const forward = () => {
      const upstream = request(
        { host: this.#target.host, port: this.#target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: `${this.#target.host}:${this.#target.port}` }, agent: this.#agent },
        (answer) => void this.#answer(method, answer, outgoing, cut),
      );
      upstream.on('error', cut);
      upstream.end(body);
    };

    const armed = this.#take(method, 'request');
    if (armed) armed.resolve({ method, phase: 'request', release: forward, cut });
    else forward();
  }

  async #answer(method: string, answer: IncomingMessage, outgoing: ServerResponse, cut: () => void): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of answer) chunks.push(chunk as Buffer);
    } catch {
      cut();
      return;
    }
    const deliver = () => {
      const headers: IncomingHttpHeaders = { ...answer.headers };
      delete headers['transfer-encoding'];
      headers['content-length'] = String(Buffer.concat(chunks).length);
      outgoing.writeHead(answer.statusCode ?? 502, headers);
      outgoing.end(Buffer.concat(chunks));
    };
    const armed = this.#take(method, 'response');
    if (armed) armed.resolve({ method, phase: 'response', release: deliver, cut });
    else deliver();
  }
}
