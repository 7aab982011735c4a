/**
 * `--trace` of the trips benchmark: counts, in the platform process, every SQL statement sent to
 * PGlite (by schema and text) and every in-process RPC call (by method), and the time each took,
 * so a trip's cost can be read as "N statements × µs each" instead of guessed from a profile
 * (PGlite's work runs from its own promise chain, so a profile does not say which caller asked).
 * Served as JSON on a loopback port of its own; the parent resets it before the measured run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { InProcessRpcTransport } from '@carshare/platform';
import { PgliteThread } from '@carshare/storage';

export interface TraceEntry {
  count: number;
  /** Wall ms from the call to its answer (includes waiting: measure with one rider for clean numbers). */
  ms: number;
}

export interface TraceReport {
  statements: Record<string, TraceEntry>;
  rpc: Record<string, TraceEntry>;
}

let report: TraceReport = { statements: {}, rpc: {} };
let schema = '?';

function note(table: Record<string, TraceEntry>, key: string, ms: number): void {
  const entry = (table[key] ??= { count: 0, ms: 0 });
  entry.count += 1;
  entry.ms += ms;
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 240);
}

function timed<A extends unknown[], R>(original: (...args: A) => Promise<R>, key: (args: A) => string, table: () => Record<string, TraceEntry>) {
  return function (this: unknown, ...args: A): Promise<R> {
    const began = performance.now();
    const name = key(args);
    return original.apply(this, args).finally(() => note(table(), name, performance.now() - began));
  };
}

/**
 * Patches PGlite, the handle of PGlite on its own thread (the default since ADR 0031: patching
 * PGlite alone then counts nothing) and the in-process RPC transport; call before the platform
 * starts. On the thread, a statement's time runs from sending it to its answer.
 */
export function installPlatformTracer(): void {
  for (const proto of [PGlite.prototype, PgliteThread.prototype] as unknown as Array<Record<'query' | 'exec', (text: string, ...rest: unknown[]) => Promise<unknown>>>) {
    tracePglite(proto);
  }
  const transport = InProcessRpcTransport.prototype as unknown as { send: (method: string, ...rest: unknown[]) => Promise<unknown> };
  transport.send = timed(transport.send, ([method]) => method, () => report.rpc);
}

/** A schema-qualified statement names its schema and needs no switch (libs/storage); one that does not (BEGIN, COMMIT, unqualified raw SQL) is counted to the last one seen. */
function statementKey(text: string): string {
  const sql = normalise(text);
  const named = /^set search_path to "([^"]+)"/.exec(sql) ?? /"([a-z][a-z0-9_]*)"\."/.exec(sql);
  if (named) schema = named[1] as string;
  return `${schema}: ${sql}`;
}

function tracePglite(proto: Record<'query' | 'exec', (text: string, ...rest: unknown[]) => Promise<unknown>>): void {
  for (const method of ['query', 'exec'] as const) {
    proto[method] = timed(proto[method], ([text]) => statementKey(String(text)), () => report.statements);
  }
  // A batch (ServiceDatabase.batch) is one message: each of its statements is counted, marked,
  // with the batch's time from sending it to its answer.
  const batched = proto as unknown as { batch?: (statements: ReadonlyArray<{ sql: string }>) => Promise<unknown> };
  const original = batched.batch;
  if (original === undefined) return;
  batched.batch = function (this: unknown, statements) {
    const began = performance.now();
    const keys = statements.map((statement) => statementKey(`[batch] ${statement.sql}`));
    return original.call(this, statements).finally(() => {
      const ms = performance.now() - began;
      for (const key of keys) note(report.statements, key, ms);
    });
  };
}

/** GET answers the counts since the last reset; POST /reset starts them again. */
export async function serveTrace(): Promise<string> {
  const server = createServer((request, response) => {
    if (request.method === 'POST') report = { statements: {}, rpc: {} };
    response.setHeader('content-type', 'application/json');
    response.end(request.method === 'POST' ? '{}' : JSON.stringify(report));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
