import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpReceiverCounts {
  exports: number;
  spans: number;
  bytes: number;
}

export interface OtlpReceiver {
  /** Base URL to give as the OTLP endpoint (the exporter appends /v1/traces). */
  url: string;
  counts(): OtlpReceiverCounts;
  close(): Promise<void>;
}

interface OtlpJsonTraces {
  resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[];
}

function countSpans(body: string): number {
  try {
    const traces = JSON.parse(body) as OtlpJsonTraces;
    let spans = 0;
    for (const resource of traces.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) spans += scope.spans?.length ?? 0;
    return spans;
  } catch {
    // Protobuf or something else: we still count the export and its bytes.
    return 0;
  }
}

/**
 * A stand-in OTLP/HTTP collector that accepts `POST /v1/traces` and only counts, so the traced run
 * pays the real exporter cost (batching, serialising, sending) without a collector to install.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const counts: OtlpReceiverCounts = { exports: 0, spans: 0, bytes: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks);
      counts.exports++;
      counts.bytes += body.length;
      if (String(request.headers['content-type']).includes('json')) counts.spans += countSpans(body.toString('utf8'));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
