import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Results } from '@electric-sql/pglite';
import { PendingCalls } from '@carshare/platform';

/**
 * What the platform asks of a PGlite instance: a PGlite object has it, and so has the handle of
 * one on its own thread (openPgliteThread).
 */
export interface PgliteSession {
  readonly closed: boolean;
  /**
   * Statements sent one after another run in that order, each to its end, without the sender
   * waiting for each answer: the thread works through one queue. SharedPglite then holds the
   * session only while sending a statement that is a transaction of its own, not until it answers.
   */
  readonly ordered: boolean;
  /**
   * `prepare`: the statement names every relation with its schema, so it may be kept as a named
   * prepared statement and run again without parsing and planning (the thread does; PGlite in the
   * process ignores it).
   */
  query<R>(sql: string, params?: unknown[], options?: { rowMode: 'object'; prepare?: boolean } & BeginFirst): Promise<PgliteResults<R>>;
  exec(sql: string, options?: { rowMode: 'object' } & BeginFirst): Promise<Array<PgliteResults<unknown>>>;
  /**
   * A whole transaction in one turn: BEGIN, the statements in order, COMMIT. The first guarded
   * statement that changes no row rolls it back, and the answer names it; an error rolls it back
   * and is thrown. Nothing else runs on the session in between. Only where it saves round trips
   * (the thread); without it a batch runs as an ordinary transaction.
   */
  batch?(statements: readonly PgliteBatchStatement[]): Promise<PgliteBatchAnswer>;
  close(): Promise<void>;
}

export interface PgliteBatchStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** As query()'s `prepare`. */
  readonly prepare: boolean;
  /** The batch stops and rolls back when this statement changes (or, not a change, returns) no row. */
  readonly guarded: boolean;
}

/** `unchanged`: the index of the guarded statement that changed no row; nothing was committed. */
export type PgliteBatchAnswer = { readonly results: ReadonlyArray<PgliteResults<unknown>> } | { readonly unchanged: number };

export interface BeginFirst {
  /**
   * A transaction's BEGIN, run just before the statement and in the same turn: a transaction's
   * first statement takes one message to the thread and back instead of two. When BEGIN fails,
   * the statement does not run and its error is BEGIN's.
   */
  begin?: string;
}

export type PgliteResults<R> = Pick<Results<R>, 'rows' | 'affectedRows' | 'command'>;

export interface PgliteThreadOptions {
  /** A data folder or `memory://`. */
  location: string;
  /** Added to PGlite's default start parameters. */
  startParams: readonly string[];
  /** A fresh cluster's tarball to start from instead of initdb (pglite-template.ts). */
  template?: Uint8Array;
  /** Dump the cluster as it is when opened, for the machine's template. */
  keepTemplate: boolean;
}

interface Pending {
  readonly id: number;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface WorkerReply {
  id?: number;
  type?: 'ready' | 'failed';
  result?: unknown;
  error?: { name: string; message: string } & Record<string, unknown>;
  template?: Uint8Array;
}

/** The worker's file, found through the package like the migrations are: the same from sources, `npm start`'s bundle and a release. */
function workerFile(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@carshare/storage/package.json')), 'worker', 'pglite-worker.mjs');
}

/** An error thrown on the worker, with its fields (SQLSTATE `code`, `constraint`, …) as PGlite set them. */
function rebuilt(described: NonNullable<WorkerReply['error']>): Error {
  const { name, message, ...fields } = described;
  const error = new Error(message);
  error.name = name;
  return Object.assign(error, fields);
}

/**
 * PGlite on a worker thread (ADR 0031). Its WebAssembly takes most of a request's CPU on the
 * embedded platform (a telemetry batch holds a thread 10–20 ms, a list query several ms); on the
 * event loop every such statement stalls every request, timer and socket of the process. Here the
 * loop pays for a message each way (~40 µs for a one-row select, against ~200 µs to run it) and
 * the statement runs on another core. Statements are answered in the order they were sent:
 * SharedPglite still decides that order.
 */
export class PgliteThread implements PgliteSession {
  readonly #worker: Worker;
  readonly #pending = new PendingCalls<Pending>();
  #nextId = 1;
  #closed = false;
  readonly ordered = true;

  constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    worker.on('error', (error) => this.#fail(error));
    worker.once('exit', (code) => this.#fail(new Error(`the PGlite thread exited (code ${code})`)));
    // Like PGlite in the process, an open instance alone does not keep the process alive.
    worker.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  query<R>(sql: string, params: unknown[] = [], options?: { prepare?: boolean } & BeginFirst): Promise<PgliteResults<R>> {
    return this.#send(options?.prepare === true ? 'prepared' : 'query', sql, params, options?.begin) as Promise<PgliteResults<R>>;
  }

  exec(sql: string, options?: BeginFirst): Promise<Array<PgliteResults<unknown>>> {
    return this.#send('exec', sql, undefined, options?.begin) as Promise<Array<PgliteResults<unknown>>>;
  }

  batch(statements: readonly PgliteBatchStatement[]): Promise<PgliteBatchAnswer> {
    return this.#send('batch', undefined, undefined, undefined, statements) as Promise<PgliteBatchAnswer>;
  }

  /**
   * Closes PGlite after the statements already sent; if that takes longer than `graceMs` (a
   * statement that does not end), the thread is stopped anyway.
   */
  async close(graceMs = 5_000): Promise<void> {
    if (this.#closed) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([this.#send('close', undefined, undefined), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    } finally {
      clearTimeout(timer);
      await this.terminate();
    }
  }

  /** Stops the thread at once: whatever is pending fails. */
  async terminate(): Promise<void> {
    this.#closed = true;
    this.#worker.ref();
    await this.#worker.terminate();
  }

  #send(op: 'query' | 'prepared' | 'exec' | 'batch' | 'close', sql: string | undefined, params: unknown[] | undefined, begin?: string, statements?: readonly PgliteBatchStatement[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new Error('PGlite is closed'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.add({ id, resolve, reject });
      this.#worker.postMessage({ id, op, sql, params, begin, statements });
    });
  }

  #settle(reply: WorkerReply): void {
    const pending = reply.id === undefined ? undefined : this.#pending.take(reply.id);
    if (pending === undefined) return;
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.error) pending.reject(rebuilt(reply.error));
    else pending.resolve(reply.result);
  }

  #fail(error: Error): void {
    this.#closed = true;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/** Starts the thread and opens PGlite on it; `freshTemplate` is the dump asked for by `keepTemplate`. */
export async function openPgliteThread(options: PgliteThreadOptions): Promise<{ session: PgliteSession; freshTemplate?: Uint8Array }> {
  const template = options.template;
  const worker = new Worker(workerFile(), {
    workerData: { location: options.location, startParams: [...options.startParams], template, keepTemplate: options.keepTemplate },
    // The ~40 MB tarball moves to the thread instead of being copied, when it owns its memory.
    transferList: template && template.byteOffset === 0 && template.byteLength === template.buffer.byteLength ? [template.buffer as ArrayBuffer] : [],
    // Plain JavaScript: the parent's loader hooks (tsx) are not needed there. V8's flags
    // (`--liftoff-only` of the start script) are the process's and apply to it all the same.
    execArgv: [],
    // The thread's own JavaScript is small (messages in, rows out): a young generation of 8 MB
    // instead of V8's default took the idle platform from 310 to 298 MB resident (`npm run bench -- memory`).
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
  const opened = await new Promise<WorkerReply>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the PGlite thread exited (code ${code}) before it opened ${options.location}`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (reply: WorkerReply) => {
      worker.off('error', reject);
      worker.off('exit', onExit);
      resolve(reply);
    });
  });
  if (opened.type !== 'ready') {
    await worker.terminate();
    throw opened.error ? rebuilt(opened.error) : new Error(`the PGlite thread did not open ${options.location}`);
  }
  return { session: new PgliteThread(worker), ...(opened.template && { freshTemplate: opened.template }) };
}
