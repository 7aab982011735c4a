// One PGlite instance on a thread of its own (libs/storage/src/pglite-thread.ts, ADR 0031): the
// platform's event loop only sends statements and receives rows, while PostgreSQL's WebAssembly
// runs on another core. Plain JavaScript, so that `npm start`'s bundle and a release can start it
// from its file without a build step; the only package it loads is PGlite itself.
import { Blob, Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { PGlite, parse, protocol } from '@electric-sql/pglite';

/** A thrown value as plain data: PGlite's DatabaseError keeps SQLSTATE, constraint and the rest on own fields. */
function describe(error) {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = {};
  for (const [key, value] of Object.entries(error)) if (value === undefined || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  return { ...fields, name: error.name, message: error.message };
}

/** What the dialect reads of a result; `fields` and `blob` stay here. */
function plain(result) {
  return result === undefined ? undefined : { rows: result.rows, affectedRows: result.affectedRows, command: result.command };
}

const { location, startParams, template, keepTemplate } = workerData;
let pglite;
try {
  pglite = await PGlite.create(location, {
    startParams: [...PGlite.defaultStartParams, ...startParams],
    ...(template && { loadDataDir: new Blob([template]) }),
  });
  let fresh;
  if (keepTemplate) {
    // A failed dump only costs the next fresh cluster its initdb (pglite-template.ts).
    fresh = await pglite
      .dumpDataDir('none')
      .then(async (tarball) => new Uint8Array(await tarball.arrayBuffer()))
      .catch(() => undefined);
  }
  parentPort.postMessage({ type: 'ready', template: fresh }, fresh ? [fresh.buffer] : []);
} catch (error) {
  parentPort.postMessage({ type: 'failed', error: describe(error) });
  process.exit(1);
}

/**
 * Named prepared statements, one per SQL text, for the statements the platform marks as safe to
 * keep (they name every relation with its schema, so the text means the same whatever the
 * session's search_path). PGlite's query() parses, analyses and plans every statement again and
 * enters the backend six times (parse, describe, bind, describe, execute, sync); a kept statement
 * is bound and executed in one entry: a one-row select by key 140-180 -> 52-58 µs of CPU, an
 * update 165-190 -> 58-72 (2026-12-06, in memory and on disk).
 */
const maxPreparedStatements = 500;
const prepared = new Map();
let preparedCount = 0;

async function statementFor(sql) {
  let statement = prepared.get(sql);
  if (statement !== undefined) return statement;
  if (prepared.size >= maxPreparedStatements) {
    // DEALLOCATE is not transactional, but an aborted transaction refuses every command.
    if (pglite.isInTransaction()) return undefined;
    await forgetAll();
  }
  const name = `carshare_${++preparedCount}`;
  const described = await pglite.execProtocolStream(
    Buffer.concat([protocol.serialize.parse({ name, text: sql, types: [] }), protocol.serialize.describe({ type: 'S', name }), protocol.serialize.sync()]),
    { syncToFs: false },
  );
  statement = {
    name,
    paramTypes: described.find((message) => message.name === 'parameterDescription')?.dataTypeIDs ?? [],
    // The columns every execution returns, known from this one description: executions then skip
    // their own Describe, which PostgreSQL answered and PGlite parsed again on every call.
    rowDescription: described.find((message) => message.name === 'rowDescription'),
  };
  prepared.set(sql, statement);
  return statement;
}

async function forgetAll() {
  await pglite.execProtocolStream(protocol.serialize.query('deallocate all'), { syncToFs: false });
  prepared.clear();
}

/** Closes a kept statement, so that its text is prepared again the next time. */
async function forget(sql) {
  const kept = prepared.get(sql);
  if (kept === undefined) return;
  prepared.delete(sql);
  await pglite.runExclusive(() => pglite.execProtocolStream(Buffer.concat([protocol.serialize.close({ type: 'S', name: kept.name }), protocol.serialize.sync()]), { syncToFs: false, throwOnError: false }));
}

/** Bind for a kept statement, its parameters serialised by type as query() does it. */
function bindMessage(kept, params) {
  const values = params.map((value, index) => {
    if (value === null || value === undefined) return null;
    const serializer = pglite.serializers[kept.paramTypes[index]];
    return serializer ? serializer(value) : value.toString();
  });
  return protocol.serialize.bind({ statement: kept.name, values });
}

/** One execution's messages (no RowDescription of their own) as query() would answer them. */
function resultOf(kept, messages) {
  return parse.parseResults(kept.rowDescription ? [kept.rowDescription, ...messages] : messages, pglite.parsers, { rowMode: 'object' })[0];
}

/** As pglite.query(sql, params, { rowMode: 'object' }) answers, through a kept statement. */
async function preparedQuery(sql, params, retried = false) {
  let answered;
  try {
    answered = await pglite.runExclusive(async () => {
      const kept = await statementFor(sql);
      if (kept === undefined) return undefined;
      const messages = await pglite.execProtocolStream(Buffer.concat([bindMessage(kept, params), protocol.serialize.execute({}), protocol.serialize.sync()]), { syncToFs: false });
      // Inside a transaction nothing needs to reach the file system before its COMMIT, which syncs.
      if (!pglite.isInTransaction()) await pglite.syncToFs();
      return { result: resultOf(kept, messages) };
    });
  } catch (error) {
    error.query ??= sql;
    // A table changed under a kept `select *` (a test's schema made again with other columns):
    // the statement goes, and outside a transaction it is prepared again once.
    if (error.code === '0A000' && prepared.has(sql)) {
      await forget(sql);
      if (!retried && !pglite.isInTransaction()) return await preparedQuery(sql, params, true);
    }
    throw error;
  }
  // The cache is full inside a transaction: this one statement goes the long way.
  return answered === undefined ? await pglite.query(sql, params, { rowMode: 'object' }) : answered.result;
}

const rowCountCommands = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);
const changedRows = (result) => (rowCountCommands.has(result.command) ? (result.affectedRows ?? 0) : result.rows.length);

/**
 * PgliteSession.batch: a whole transaction in one turn of this thread, with no message in between.
 * When every statement can be kept, BEGIN and all of them go to PostgreSQL in one call: each
 * call into PGlite cost ~28 µs besides its statement (bench/README.md, trips, 2026-12-06
 * evening), and a trip runs ~8 batches of 3–5 statements. The guards are read afterwards: the
 * first guarded statement that changed no row rolls everything back, as if the statements after
 * it had not run, and so does a statement that failed; PostgreSQL skips what follows a failure.
 */
async function batch(statements) {
  // A table that changed shape under kept statements fails them one at a time (0A000): each is
  // prepared again and the batch, rolled back, runs again.
  for (let tries = 0; ; tries += 1) {
    const answer = await pipelinedBatch(statements);
    if (answer.stale === undefined) return answer;
    await forget(statements[answer.stale].sql);
    if (tries === statements.length) throw answer.error;
  }
}

async function pipelinedBatch(statements) {
  const kept = await keptStatementsFor(statements);
  if (kept === undefined) return await batchOneByOne(statements);
  const messages = await pglite.runExclusive(() =>
    pglite.execProtocolStream(
      Buffer.concat([protocol.serialize.query('begin'), ...statements.flatMap((statement, index) => [bindMessage(kept[index], statement.params), protocol.serialize.execute({})]), protocol.serialize.sync()]),
      { syncToFs: false, throwOnError: false },
    ),
  );
  const { results, failure } = pipelinedResults(kept, messages);
  const unchanged = results.findIndex((result, index) => statements[index].guarded && changedRows(result) === 0);
  try {
    if (unchanged !== -1 || failure !== undefined) {
      await pglite.exec('rollback');
      if (unchanged !== -1) return { unchanged };
      failure.error.query ??= statements[failure.index].sql;
      if (failure.error.code === '0A000') return { stale: failure.index, error: failure.error };
      throw failure.error;
    }
    await pglite.exec('commit');
    return { results: results.map(plain) };
  } catch (error) {
    if (pglite.isInTransaction()) await pglite.exec('rollback').catch(() => undefined);
    throw error;
  }
}

/** The batch's kept statements, one per statement, or undefined when one of them cannot be kept. */
async function keptStatementsFor(statements) {
  if (!statements.every((statement) => statement.prepare)) return undefined;
  // Room for every new text first: keeping one later must not clear (statementFor) what an earlier one found.
  const newTexts = new Set(statements.map((statement) => statement.sql).filter((sql) => !prepared.has(sql))).size;
  if (newTexts > maxPreparedStatements) return undefined;
  if (prepared.size + newTexts > maxPreparedStatements) await pglite.runExclusive(forgetAll);
  const kept = [];
  for (const statement of statements) kept.push(await pglite.runExclusive(() => statementFor(statement.sql)));
  return kept;
}

/**
 * Splits the answer to BEGIN + (Bind, Execute) × n + Sync: each statement's result up to the
 * first that failed, and that failure with its statement's index (a Bind that fails has no
 * BindComplete, so the index is the number of statements completed).
 */
function pipelinedResults(kept, messages) {
  const results = [];
  let begun = false;
  let current = [];
  for (const message of messages) {
    if (!begun) {
      if (message.name === 'error') return { results, failure: { index: 0, error: message } };
      begun = message.name === 'readyForQuery';
    } else if (message.name === 'error') {
      return { results, failure: { index: results.length, error: message } };
    } else if (message.name === 'dataRow') {
      current.push(message);
    } else if (message.name === 'commandComplete') {
      current.push(message);
      results.push(resultOf(kept[results.length], current));
      current = [];
    }
  }
  return { results, failure: undefined };
}

async function batchOneByOne(statements) {
  await pglite.exec('begin');
  try {
    const results = [];
    for (const [index, statement] of statements.entries()) {
      const result = plain(statement.prepare ? await preparedQuery(statement.sql, statement.params) : await pglite.query(statement.sql, statement.params, { rowMode: 'object' }));
      if (statement.guarded && changedRows(result) === 0) {
        await pglite.exec('rollback');
        return { unchanged: index };
      }
      results.push(result);
    }
    await pglite.exec('commit');
    return { results };
  } catch (error) {
    // Ends the transaction a failed statement (or COMMIT) left; there is nothing to add to its error.
    if (pglite.isInTransaction()) await pglite.exec('rollback').catch(() => undefined);
    throw error;
  }
}

async function answer({ id, op, sql, params, begin, statements }) {
  try {
    // A transaction's BEGIN comes with its first statement (pglite-thread.ts, BeginFirst).
    if (begin !== undefined) await pglite.exec(begin);
    if (op === 'prepared') {
      parentPort.postMessage({ id, result: plain(await preparedQuery(sql, params)) });
    } else if (op === 'query') {
      parentPort.postMessage({ id, result: plain(await pglite.query(sql, params, { rowMode: 'object' })) });
    } else if (op === 'batch') {
      parentPort.postMessage({ id, result: await batch(statements) });
    } else if (op === 'exec') {
      parentPort.postMessage({ id, result: (await pglite.exec(sql, { rowMode: 'object' })).map(plain) });
    } else if (op === 'close') {
      if (!pglite.closed) await pglite.close();
      parentPort.postMessage({ id, result: undefined });
      parentPort.close();
    } else {
      parentPort.postMessage({ id, error: { name: 'TypeError', message: `unknown operation ${op}` } });
    }
  } catch (error) {
    parentPort.postMessage({ id, error: describe(error) });
  }
}

// One statement after the other, each to its answer, in the order they came: the platform sends
// a statement without waiting for the one before it to answer (PgliteSession.ordered), so BEGIN,
// a kept statement's preparation and PGlite's own queue must never let a later one in between.
let turn = Promise.resolve();
parentPort.on('message', (message) => {
  turn = turn.then(() => answerAndWait(message));
});

/**
 * Inside a transaction the session belongs to one caller, whose next statement comes a few
 * hundred µs after each answer, and nothing else can run meanwhile. A message reached this
 * thread's event loop 124 µs after it was sent (average under the trips bench); a loop asking
 * the port finds it in ~11 (bench/README, trips, 2026-12-04; ADR 0033). The loop gives up after
 * 0.5 ms: a caller that stays away longer gets the event loop again.
 */
const transactionSpinMs = 0.5;
async function answerAndWait(message) {
  for (let next = message; next !== undefined; ) {
    await answer(next);
    next = undefined;
    if (pglite.closed || !pglite.isInTransaction()) return;
    const until = performance.now() + transactionSpinMs;
    while (next === undefined && performance.now() < until) next = receiveMessageOnPort(parentPort)?.message;
  }
}
