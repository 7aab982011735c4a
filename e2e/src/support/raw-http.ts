import type { Agent} from 'node:http';
import { request } from 'node:http';

export interface RawRequest {
  method: string;
  /** Sent exactly as given: no normalisation, no encoding. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Write the body in pieces without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class DroppedConnection extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DroppedConnection';
  }
}

/**
 * One request over node:http, which (unlike fetch) sends odd methods, raw paths and broken
 * bodies as they are. Rejects with DroppedConnection when no complete response arrives; a
 * server closing the socket after a complete answer (e.g. to a 1 MB upload) is not a drop.
 */
export function sendRaw(baseUrl: string, agent: Agent, spec: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const headers: Record<string, string> = { ...spec.headers };
    if (spec.body !== undefined && !spec.chunked) headers['content-length'] = String(spec.body.length);
    const outgoing = request(
      { host: url.hostname, port: url.port, method: spec.method, path: spec.path, headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          settle(() => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') })),
        );
        response.on('aborted', () => settle(() => reject(new DroppedConnection('response aborted before its end'))));
        response.on('error', (error) => settle(() => reject(new DroppedConnection(`response failed: ${error.message}`, { cause: error }))));
      },
    );
    const timer = setTimeout(() => {
      settle(() => reject(new DroppedConnection(`no complete response within ${timeoutMs} ms`)));
      outgoing.destroy();
    }, timeoutMs);
    outgoing.on('error', (error) => settle(() => reject(new DroppedConnection(`request failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error }))));
    if (spec.body === undefined) {
      outgoing.end();
    } else if (spec.chunked) {
      const piece = 64 * 1024;
      for (let offset = 0; offset < spec.body.length; offset += piece) outgoing.write(spec.body.subarray(offset, offset + piece));
      outgoing.end();
    } else {
      outgoing.end(spec.body);
    }
  });
}
