/**
 * The framed RPC wire (ADR 0029): after an HTTP/1.1 Upgrade on the service's own port, both ends
 * exchange length-prefixed frames on one persistent connection, many calls in flight at once and
 * answered in any order. All integers are big-endian.
 *
 *   call:   u32 length | u32 id | u16 meta length | meta (JSON array, UTF-8) | body (JSON, UTF-8)
 *   answer: u32 length | u32 id | u16 status      | body (JSON, UTF-8)
 *
 * `length` counts what follows it. The meta is what the HTTP transport sends as headers:
 * `[service, method, budgetMs, requestId, traceparent | null, identity]`. The body travels apart
 * from the meta so the callee checks its size exactly as the HTTP body limit does, without
 * parsing it, and parses it only once the call is known.
 */

/** The `Upgrade` token a client asks for and the callee switches to. */
export const framedRpcProtocol = 'carshare-rpc.1';
/** The path of the upgrade request; every service serves it on its RPC port. */
export const framedRpcPath = '/rpc';
/** Told by the callee in its 101: the client refuses a larger body itself, as the in-process transport does. */
export const framedRpcBodyLimitHeader = 'x-carshare-rpc-body-limit';

const callHeaderBytes = 4 + 4 + 2;
const answerHeaderBytes = 4 + 4 + 2;
/** A meta is a few hundred bytes (the identity is the longest part); anything near this is not ours. */
export const maxMetaBytes = 16 * 1024;

export type CallMeta = [service: string, method: string, budgetMs: number, requestId: string, traceparent: string | null, identity: string];

/** Encodes one call; throws when the meta cannot fit its 16-bit length. */
export function encodeCall(id: number, meta: string, body: string): Buffer {
  // Worst case 3 UTF-8 bytes per UTF-16 unit: written once into a buffer that large, then cut.
  const frame = Buffer.allocUnsafe(callHeaderBytes + 3 * (meta.length + body.length));
  const metaBytes = frame.write(meta, callHeaderBytes, 'utf8');
  if (metaBytes > maxMetaBytes) throw new RangeError(`call meta of ${metaBytes} bytes exceeds ${maxMetaBytes}`);
  const bodyBytes = frame.write(body, callHeaderBytes + metaBytes, 'utf8');
  const total = callHeaderBytes + metaBytes + bodyBytes;
  frame.writeUInt32BE(total - 4, 0);
  frame.writeUInt32BE(id, 4);
  frame.writeUInt16BE(metaBytes, 8);
  return frame.subarray(0, total);
}

export function encodeAnswer(id: number, status: number, body: string): Buffer {
  const frame = Buffer.allocUnsafe(answerHeaderBytes + 3 * body.length);
  const bodyBytes = frame.write(body, answerHeaderBytes, 'utf8');
  const total = answerHeaderBytes + bodyBytes;
  frame.writeUInt32BE(total - 4, 0);
  frame.writeUInt32BE(id, 4);
  frame.writeUInt16BE(status, 8);
  return frame.subarray(0, total);
}

/** A call as the callee reads it: the body stays bytes until the call is known and within its limit. */
export interface DecodedCall {
  id: number;
  meta: string;
  bodyBytes: number;
  body: string;
}

export function decodeCall(frame: Buffer): DecodedCall {
  if (frame.length < callHeaderBytes - 4) throw new FrameError('call frame too short');
  const id = frame.readUInt32BE(0);
  const metaBytes = frame.readUInt16BE(4);
  if (6 + metaBytes > frame.length) throw new FrameError('call meta runs past its frame');
  return { id, meta: frame.toString('utf8', 6, 6 + metaBytes), bodyBytes: frame.length - 6 - metaBytes, body: frame.toString('utf8', 6 + metaBytes) };
}

export interface DecodedAnswer {
  id: number;
  status: number;
  body: string;
}

export function decodeAnswer(frame: Buffer): DecodedAnswer {
  if (frame.length < answerHeaderBytes - 4) throw new FrameError('answer frame too short');
  return { id: frame.readUInt32BE(0), status: frame.readUInt16BE(4), body: frame.toString('utf8', 6) };
}

/** The peer broke the framing: the connection cannot be trusted to carry another frame. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/**
 * Cuts a byte stream into frames (what follows each length). Chunks are kept as they came until
 * a frame is whole, so a large frame arriving in many reads is copied once, not once per read.
 * A frame longer than `maxFrameBytes` is a protocol violation (FrameError), before any of it is
 * buffered.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Calls `onFrame` with each whole frame, in order; a frame it hands out is valid only during the call. */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let data = chunk;
    if (this.#buffered > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered < 4) return;
      const length = this.#peekLength();
      if (this.#buffered < 4 + length) return;
      data = Buffer.concat(this.#chunks, this.#buffered);
      this.#chunks = [];
      this.#buffered = 0;
    }
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32BE(offset);
      if (length > this.#maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds ${this.#maxFrameBytes}`);
      if (data.length - offset - 4 < length) break;
      onFrame(data.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      if (rest.length >= 4 && rest.readUInt32BE(0) > this.#maxFrameBytes) throw new FrameError(`frame of ${rest.readUInt32BE(0)} bytes exceeds ${this.#maxFrameBytes}`);
      // A copy: the chunk's buffer may be reused by the socket once this returns.
      this.#chunks = [Buffer.from(rest)];
      this.#buffered = rest.length;
    }
  }

  #peekLength(): number {
    const head = this.#chunks.length === 1 || (this.#chunks[0] as Buffer).length >= 4 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, 4);
    const length = head.readUInt32BE(0);
    if (length > this.#maxFrameBytes) throw new FrameError(`frame of ${length} bytes exceeds ${this.#maxFrameBytes}`);
    return length;
  }
}
