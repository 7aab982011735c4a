// One PGlite instance on a thread of its own (libs/storage/src/pglite-thread.ts, ADR 0031): the
// platform's event loop only sends statements and receives rows, while PostgreSQL's WebAssembly
// runs on another core. Plain JavaScript, so that `npm start`'s bundle and a release can start it
// from its file without a build step; the only package it loads is PGlite itself.
import { Blob } from 'node:buffer';
import process from 'node:process';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

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

parentPort.on('message', async ({ id, op, sql, params }) => {
  try {
    if (op === 'query') {
      parentPort.postMessage({ id, result: plain(await pglite.query(sql, params, { rowMode: 'object' })) });
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
});
