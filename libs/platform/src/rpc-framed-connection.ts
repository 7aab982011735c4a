import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { InvalidArgument } from './errors.ts';
import { PendingCalls } from './pending-calls.ts';
import { decodeAnswer, encodeCall, FrameDecoder, FrameError, framedRpcBodyLimitHeader, framedRpcPath, framedRpcProtocol, type DecodedAnswer } from './rpc-frames.ts';

/** The callee (or a proxy on the way) answered the upgrade with something else than 101: RPC goes over HTTP there. */
export class UpgradeRefused extends Error {
  readonly status: number;
  constructor(url: string, status: number) {
    super(`${url} refused the ${framedRpcProtocol} upgrade with ${status}`);
    this.name = 'UpgradeRefused';
    this.status = status;
  }
}

/**
 * A connection that has answered nothing for this long while a call waited on it, and whose call
 * then ran out of time, is closed (see `abandon`). Shorter silences are a slow callee, not a
 * stuck connection: a caller that cancels a call at once must not take the others down with it.
 */
const defaultStuckAfterSilenceMs = 1_000;

export interface FramedRpcConnectionOptions {
  /** A handshake with no answer for this long counts as refused (default 5 s). */
  connectTimeoutMs?: number;
  /** See `defaultStuckAfterSilenceMs`. */
  stuckAfterSilenceMs?: number;
}

/** Answers larger than this are a broken callee, not an answer (a callee's bodies are bounded by its schemas). */
const maxAnswerBytes = 64 * 1024 * 1024;

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the call was aborted');
}

/** One call waiting for its answer. */
class PendingCall {
  readonly id: number;
  readonly signal: AbortSignal;
  readonly resolve: (answer: DecodedAnswer) => void;
  readonly reject: (error: Error) => void;
  /** Written once the connection is open; undefined once written. */
  frame: Buffer | undefined;
  /** performance.now() when it was written. */
  sentAt = Number.POSITIVE_INFINITY;

  constructor(id: number, signal: AbortSignal, frame: Buffer, resolve: (answer: DecodedAnswer) => void, reject: (error: Error) => void) {
    this.id = id;
    this.signal = signal;
    this.frame = frame;
    this.resolve = resolve;
    this.reject = reject;
  }
}

/**
 * The one abort listener of a signal that calls on this connection wait under. Calls of one
 * request, and of every request whose deadline falls in the same slot (DeadlineSignals), share a
 * signal that lives as long as their deadline: a listener added and removed per call on it kept
 * each call's objects in old space (measured on the callee side: ~420 B promoted per call), so a
 * listener is added when the first call of a signal goes out and removed when its last one ends.
 */
class SignalWatch {
  readonly #connection: FramedRpcConnection;
  readonly #signal: AbortSignal;
  calls = 0;

  constructor(connection: FramedRpcConnection, signal: AbortSignal) {
    this.#connection = connection;
    this.#signal = signal;
  }

  handleEvent(): void {
    // The callers gave up: their answers, if they come, find nobody and are dropped.
    this.#connection.abandon(this.#signal);
  }
}

export type FramedConnectionState = 'connecting' | 'open' | 'refused' | 'closed';

/**
 * The caller's end of one framed connection (ADR 0029) to one endpoint: opened with an HTTP/1.1
 * Upgrade on the endpoint's own port, then calls as frames with an id, answered in any order, so
 * one slow call never holds the others back. Calls made while it connects wait in order and are
 * written once it is open (the transport sends its calls over HTTP meanwhile instead); each
 * leaves when its signal aborts. When the connection ends, every
 * call still waiting fails (the client reports UNAVAILABLE) and the transport opens a new one.
 */
export class FramedRpcConnection {
  readonly url: string;
  #state: FramedConnectionState = 'connecting';
  #socket: Socket | undefined;
  #bodyLimitBytes = Number.POSITIVE_INFINITY;
  readonly #pending = new PendingCalls<PendingCall>();
  readonly #watches = new Map<AbortSignal, SignalWatch>();
  /** Calls made before the connection opened, in order. */
  #queued: PendingCall[] = [];
  #nextId = 1;
  #corked = false;
  #failure: Error | undefined;
  #closeWhenIdle = false;
  /** performance.now() when bytes last came from the callee. */
  #lastHeardAt = Number.NEGATIVE_INFINITY;
  /**
   * performance.now() when its handshake failed; minus infinity when an open connection ended
   * (the callee dropped it or restarted: a new one may be tried at once).
   */
  endedAt = Number.POSITIVE_INFINITY;
  #settled!: () => void;
  /** Resolves once the connection is open, refused or closed: never rejects. */
  readonly settled = new Promise<void>((resolve) => (this.#settled = resolve));

  readonly #stuckAfterSilenceMs: number;

  constructor(url: string, options: FramedRpcConnectionOptions = {}) {
    this.url = url;
    this.#stuckAfterSilenceMs = options.stuckAfterSilenceMs ?? defaultStuckAfterSilenceMs;
    const target = new URL(url);
    const upgrade = httpRequest({
      host: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port || 80,
      path: framedRpcPath,
      method: 'GET',
      agent: false,
      headers: { connection: 'Upgrade', upgrade: framedRpcProtocol },
    });
    // A handshake that gets no answer at all is a proxy that holds upgrades: refused, not closed, so
    // the transport stays on HTTP there instead of trying again with every call.
    upgrade.setTimeout(options.connectTimeoutMs ?? 5_000, () => {
      this.#fail(new UpgradeRefused(url, 0), 'refused');
      upgrade.destroy();
    });
    upgrade.once('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => this.#opened(response, socket, head));
    upgrade.once('response', (response: IncomingMessage) => {
      response.resume();
      this.#fail(new UpgradeRefused(url, response.statusCode ?? 0), 'refused');
    });
    upgrade.once('error', (error: Error) => this.#fail(error, 'closed'));
    upgrade.end();
  }

  get state(): FramedConnectionState {
    return this.#state;
  }

  /** Why it is refused or closed. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Sends one call and resolves to its answer's status and body text. */
  call(meta: string, body: string, signal: AbortSignal): Promise<DecodedAnswer> {
    if (this.#state === 'refused' || this.#state === 'closed') return Promise.reject(this.#failure ?? new Error(`connection to ${this.url} closed`));
    if (signal.aborted) return Promise.reject(abortReason(signal));
    // What the callee said it takes; a larger body is refused here as its HTTP server would refuse it.
    if (body.length * 3 > this.#bodyLimitBytes && Buffer.byteLength(body) > this.#bodyLimitBytes) {
      return Promise.reject(InvalidArgument('PAYLOAD_TOO_LARGE', 'Request body is too large'));
    }
    const id = this.#nextId;
    this.#nextId = id >= 0xffff_ffff ? 1 : id + 1;
    const frame = encodeCall(id, meta, body);
    return new Promise<DecodedAnswer>((resolve, reject) => {
      const pending = new PendingCall(id, signal, frame, resolve, reject);
      this.#pending.add(pending);
      this.#watch(signal);
      if (this.#state === 'open') this.#write(pending);
      else this.#queued.push(pending);
    });
  }

  #watch(signal: AbortSignal): void {
    let watch = this.#watches.get(signal);
    if (watch === undefined) {
      this.#watches.set(signal, (watch = new SignalWatch(this, signal)));
      signal.addEventListener('abort', watch, { once: true });
    }
    watch.calls++;
  }

  #unwatch(signal: AbortSignal): void {
    const watch = this.#watches.get(signal);
    if (watch === undefined || --watch.calls > 0) return;
    this.#watches.delete(signal);
    signal.removeEventListener('abort', watch);
  }

  /**
   * `signal` aborted: every call waiting under it fails now (rare: a deadline that passed
   * mid-call). When nothing at all came back since one of them was written, at least
   * `stuckAfterSilenceMs` ago (default 1 s), the connection is taken for stuck (a peer or a path that stopped answering: frames queue behind each other on
   * one connection, where HTTP would have dropped its connection with the timed-out request) and
   * closed; the next call opens another one.
   */
  abandon(signal: AbortSignal): void {
    this.#watches.delete(signal);
    let stuck = false;
    const now = performance.now();
    for (const pending of this.#pending.values()) {
      if (pending.signal !== signal) continue;
      this.#pending.take(pending.id);
      if (pending.sentAt >= this.#lastHeardAt && now - pending.sentAt >= this.#stuckAfterSilenceMs) stuck = true;
      pending.reject(abortReason(signal));
    }
    if (stuck) this.#fail(new Error(`${this.url} answered nothing since a call that ran out of time was sent`), 'closed');
    else if (this.#closeWhenIdle && this.#pending.size === 0) this.close();
  }

  /** Ends the connection once the calls on it are answered (its endpoint left discovery). */
  closeWhenIdle(): void {
    this.#closeWhenIdle = true;
    if (this.#pending.size === 0) this.close();
  }

  close(): void {
    this.#fail(new Error(`connection to ${this.url} closed`), 'closed');
  }

  #opened(response: IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.#state !== 'connecting') {
      socket.destroy();
      return;
    }
    const limit = Number(response.headers[framedRpcBodyLimitHeader]);
    if (Number.isFinite(limit) && limit > 0) this.#bodyLimitBytes = limit;
    this.#socket = socket;
    this.#state = 'open';
    this.#settled();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const decoder = new FrameDecoder(maxAnswerBytes);
    const onFrame = (frame: Buffer) => this.#answered(decodeAnswer(frame));
    const receive = (chunk: Buffer) => {
      this.#lastHeardAt = performance.now();
      try {
        decoder.push(chunk, onFrame);
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        this.#fail(error, 'closed');
      }
    };
    socket.on('data', receive);
    socket.on('error', (error: Error) => this.#fail(error, 'closed'));
    socket.on('close', () => this.#fail(new Error(`${this.url} closed the connection`), 'closed'));
    if (head.length > 0) receive(head);
    const queued = this.#queued;
    this.#queued = [];
    for (const pending of queued) if (this.#pending.get(pending.id) === pending) this.#write(pending);
  }

  #answered(answer: DecodedAnswer): void {
    const pending = this.#pending.take(answer.id);
    // An answer to a call whose caller gave up: nobody waits for it.
    if (!pending) return;
    this.#unwatch(pending.signal);
    pending.resolve(answer);
    if (this.#closeWhenIdle && this.#pending.size === 0) this.close();
  }

  #write(pending: PendingCall): void {
    const socket = this.#socket as Socket;
    if (!this.#corked) {
      // The calls of one tick (a scatter-gather's parts, concurrent requests) leave in one write.
      this.#corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(pending.frame as Buffer);
    pending.frame = undefined;
    pending.sentAt = performance.now();
  }

  uncork(): void {
    this.#corked = false;
    this.#socket?.uncork();
  }

  #fail(error: Error, state: 'refused' | 'closed'): void {
    if (this.#state === 'refused' || this.#state === 'closed') return;
    this.endedAt = this.#state === 'connecting' ? performance.now() : Number.NEGATIVE_INFINITY;
    this.#state = state;
    this.#failure = error;
    this.#settled();
    this.#socket?.destroy();
    this.#queued = [];
    const pending = this.#pending.values();
    this.#pending.clear();
    for (const [signal, watch] of this.#watches) signal.removeEventListener('abort', watch);
    this.#watches.clear();
    for (const call of pending) call.reject(error);
  }
}

function uncork(connection: FramedRpcConnection): void {
  connection.uncork();
}
