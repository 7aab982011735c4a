import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

export type ReceivedSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** One span as a test wants to read it: hex ids, plain attribute values, the emitting service. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  /** The resource's `service.name`. */
  service: string | undefined;
  kind: ReceivedSpanKind;
  attributes: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

/** What each export request looked like; refused ones say why, so a test can show it. */
export interface ExportRequest {
  path: string;
  contentType: string;
  contentEncoding: string | undefined;
  status: number;
  spans: number;
  /** Body size as sent (before any decompression). */
  bytes: number;
  problem?: string;
}

/** Totals over the accepted exports: what a benchmark reports about its traced run. */
export interface OtlpReceiverCounts {
  exports: number;
  spans: number;
  bytes: number;
}

export interface OtlpReceiverOptions {
  host?: string;
  /**
   * False: count spans without keeping them (`spans` stays empty, `waitFor` sees nothing), so a
   * long benchmark run neither grows the heap nor pays for turning every span into an object.
   */
  keepSpans?: boolean;
}

export interface OtlpReceiver {
  /** Give this as the OTLP endpoint: exporters append `/v1/traces`. */
  readonly url: string;
  readonly spans: readonly ReceivedSpan[];
  readonly requests: readonly ExportRequest[];
  counts(): OtlpReceiverCounts;
  /**
   * Resolves with the first truthy value `select` returns for the spans received so far,
   * re-checked on every export; rejects after `timeoutMs` listing what did arrive.
   */
  waitFor<T>(select: (spans: readonly ReceivedSpan[]) => T | undefined | null | false, timeoutMs: number): Promise<T>;
  clear(): void;
  close(): Promise<void>;
}

const kindNames: readonly ReceivedSpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/** OTLP/JSON writes 64-bit times as strings or numbers; anything else counts as absent. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' ? String(value) : '';
}

function kindOf(raw: unknown): ReceivedSpanKind {
  if (typeof raw === 'number') return kindNames[raw] ?? 'unspecified';
  // Proto3 JSON may also spell enums by name.
  if (typeof raw === 'string') {
    const name = raw.replace(/^SPAN_KIND_/, '').toLowerCase();
    return (kindNames as readonly string[]).includes(name) ? (name as ReceivedSpanKind) : 'unspecified';
  }
  return 'unspecified';
}

/** OTLP/JSON ids are hex; some encoders send base64 (the proto3 JSON default for bytes). */
function idOf(raw: unknown, bytes: number): string | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined;
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(raw)) return raw.toLowerCase();
  const decoded = Buffer.from(raw, 'base64');
  return decoded.length === bytes ? decoded.toString('hex') : raw;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}

function valueOf(value: AnyValue | undefined): unknown {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(valueOf);
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values);
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) attributes[key] = valueOf(value);
  return attributes;
}

interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: Record<string, unknown>[] }[];
  }[];
}

function checkedRequest(parsed: unknown): ExportTraceServiceRequest & { resourceSpans: NonNullable<ExportTraceServiceRequest['resourceSpans']> } {
  const request = parsed as ExportTraceServiceRequest;
  if (typeof request !== 'object' || request === null || !Array.isArray(request.resourceSpans)) {
    throw new Error('not an ExportTraceServiceRequest: resourceSpans is missing');
  }
  return request as ExportTraceServiceRequest & { resourceSpans: NonNullable<ExportTraceServiceRequest['resourceSpans']> };
}

function spanCountOf(parsed: unknown): number {
  let count = 0;
  for (const resourceSpans of checkedRequest(parsed).resourceSpans) for (const scopeSpans of resourceSpans.scopeSpans ?? []) count += scopeSpans.spans?.length ?? 0;
  return count;
}

function spansOf(parsed: unknown): ReceivedSpan[] {
  const request = checkedRequest(parsed);
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans) {
    const service = attributesOf(resourceSpans.resource?.attributes)['service.name'];
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: idOf(span['traceId'], 16) ?? '',
          spanId: idOf(span['spanId'], 8) ?? '',
          parentSpanId: idOf(span['parentSpanId'], 8),
          name: textOf(span['name']),
          service: typeof service === 'string' ? service : undefined,
          kind: kindOf(span['kind']),
          attributes: attributesOf(span['attributes'] as KeyValue[] | undefined),
          statusCode: Number((span['status'] as { code?: unknown } | undefined)?.code ?? 0),
          startTimeUnixNano: textOf(span['startTimeUnixNano']),
          endTimeUnixNano: textOf(span['endTimeUnixNano']),
        });
      }
    }
  }
  return spans;
}

async function rawBodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function decoded(raw: Buffer, encoding: string | undefined): Buffer {
  if (encoding === 'gzip') return gunzipSync(raw);
  if (encoding === 'deflate') return inflateSync(raw);
  if (encoding !== undefined && encoding !== 'identity') throw new Error(`content-encoding ${encoding} is not supported`);
  return raw;
}

/**
 * An in-process OTLP/HTTP trace collector for tests: `POST /v1/traces` with JSON (what
 * `@opentelemetry/exporter-trace-otlp-http` sends), optionally gzip'd. Protobuf is refused with
 * 415 and recorded in `requests`, so a test can tell "exporter switched format" from "no spans".
 * Benchmarks use it too, with `keepSpans: false`: the traced run then pays the real exporter
 * cost (batching, serialising, sending) without a collector to install.
 */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const keepSpans = options.keepSpans ?? true;
  const spans: ReceivedSpan[] = [];
  const requests: ExportRequest[] = [];
  const waiters = new Set<() => void>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    let bytes = 0;
    const record = (status: number, count: number, problem?: string) => {
      requests.push({ path, contentType, contentEncoding: request.headers['content-encoding'], status, spans: count, bytes, ...(problem && { problem }) });
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(status === 200 ? '{}' : JSON.stringify({ code: status, message: problem }));
    };
    if (request.method !== 'POST' || path !== '/v1/traces') {
      request.resume();
      return record(404, 0, `${request.method} ${path}: only POST /v1/traces is collected`);
    }
    let body: Buffer;
    try {
      const raw = await rawBodyOf(request);
      bytes = raw.length;
      body = decoded(raw, request.headers['content-encoding']);
    } catch (error) {
      return record(400, 0, (error as Error).message);
    }
    if (contentType !== 'application/json') {
      return record(415, 0, `content-type ${contentType || '(none)'}: this receiver reads OTLP/JSON only`);
    }
    let received: ReceivedSpan[] = [];
    let count: number;
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      if (keepSpans) {
        received = spansOf(parsed);
        count = received.length;
      } else {
        count = spanCountOf(parsed);
      }
    } catch (error) {
      return record(400, 0, (error as Error).message);
    }
    spans.push(...received);
    record(200, count);
    for (const wake of [...waiters]) wake();
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}`,
    spans,
    requests,
    counts() {
      const accepted = requests.filter((entry) => entry.status === 200);
      return {
        exports: accepted.length,
        spans: accepted.reduce((sum, entry) => sum + entry.spans, 0),
        bytes: accepted.reduce((sum, entry) => sum + entry.bytes, 0),
      };
    },
    waitFor(select, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = select(spans);
          if (found === undefined || found === null || found === false) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = () => {
          try {
            check();
          } catch (error) {
            clearTimeout(timer);
            waiters.delete(wake);
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const seen = spans.map((span) => `${span.service}:${span.kind}:${span.name} ${span.traceId}/${span.spanId}<-${span.parentSpanId ?? '-'}`);
          const refused = requests.filter((entry) => entry.status !== 200).map((entry) => `${entry.status} ${entry.problem ?? ''}`);
          reject(
            new Error(
              `no matching spans within ${timeoutMs} ms; received ${spans.length}:\n  ${seen.join('\n  ')}` +
                (refused.length > 0 ? `\nrefused exports:\n  ${refused.join('\n  ')}` : ''),
            ),
          );
        }, timeoutMs);
        waiters.add(wake);
        wake();
      });
    },
    clear() {
      spans.length = 0;
      requests.length = 0;
    },
    close() {
      for (const wake of waiters) waiters.delete(wake);
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
