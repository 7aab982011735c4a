import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Why the guard closed a connection. */
export type PacketRefusal = { kind: 'too_large'; declaredBytes: number } | { kind: 'malformed' };

/**
 * Follows the MQTT framing of a byte stream without parsing packets: each packet is one fixed-header
 * byte, a Remaining Length of 1–4 bytes (7 bits each, high bit = more), then that many bytes. It
 * reads only the lengths, so it can refuse a packet from its header, before its body arrives.
 */
export class MqttFrameScanner {
  readonly #maxPacketBytes: number;
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  /** `maxPacketBytes` bounds a packet's Remaining Length (everything after its fixed header). */
  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
  }

  /** The refusal for the first packet over the limit (or an impossible length), else undefined. */
  feed(chunk: Buffer): PacketRefusal | undefined {
    let index = 0;
    while (index < chunk.length) {
      if (this.#state === 'type') {
        index += 1;
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
      } else if (this.#state === 'length') {
        const byte = chunk[index] as number;
        index += 1;
        this.#length += (byte & 0x7f) * this.#multiplier;
        this.#multiplier *= 128;
        this.#lengthBytes += 1;
        // The length read so far only grows with more bytes: refuse as soon as it is too much.
        if (this.#length > this.#maxPacketBytes) return { kind: 'too_large', declaredBytes: this.#length };
        if ((byte & 0x80) !== 0) {
          if (this.#lengthBytes === 4) return { kind: 'malformed' };
          continue;
        }
        this.#remaining = this.#length;
        this.#state = this.#remaining > 0 ? 'body' : 'type';
      } else {
        const skip = Math.min(this.#remaining, chunk.length - index);
        index += skip;
        this.#remaining -= skip;
        if (this.#remaining === 0) this.#state = 'type';
      }
    }
    return undefined;
  }
}

/**
 * The socket as aedes should see it: the same bytes both ways, except that a packet whose header
 * declares more than `maxPacketBytes` closes the connection there and then. aedes itself has no
 * such bound: its parser buffers a packet whole (MQTT allows 256 MB) before any hook sees it, so a
 * device, or anyone who can reach the port before authenticating, could make it hold that much.
 */
export function guardMqttPacketSize(socket: Socket, maxPacketBytes: number, onRefused: (refusal: PacketRefusal, connection: Duplex) => void): Duplex {
  const scanner = new MqttFrameScanner(maxPacketBytes);
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket.write(chunk)) callback();
      else socket.once('drain', () => callback());
    },
    final(callback) {
      socket.end(() => callback());
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const refusal = scanner.feed(chunk);
    if (refusal) {
      socket.pause();
      onRefused(refusal, guarded);
      // Whatever came before the refused packet has been handed on already; the rest never is.
      socket.destroy();
      guarded.destroy();
      return;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (error) => guarded.destroy(error));
  socket.on('close', () => guarded.destroy());
  // aedes reads the peer's address from the stream it is given (logs, connDetails).
  Object.defineProperties(guarded, {
    remoteAddress: { get: () => socket.remoteAddress },
    remotePort: { get: () => socket.remotePort },
  });
  return guarded;
}
