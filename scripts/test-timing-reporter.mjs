/**
 * A second `node --test` reporter beside spec (scripts/run-tests.ts): one JSON line per test file
 * with its wall time, from the moment the runner started its process to the end, so CI logs show
 * which files hold the suite up. Queueing is left out: the runner reports a file as started
 * (`test:dequeue`) only when a concurrency slot is free for it. Plain JavaScript: the runner loads
 * reporters before tsx's hooks are in place.
 */

import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

// node --test loads a reporter from its module's default export: the one default export here.
// eslint-disable-next-line no-restricted-syntax
export default async function* timingReporter(source) {
  const startedAt = new Map();
  for await (const event of source) {
    const data = event.data;
    // A file's own entry carries its path as its name (absolute on Node 20, relative to the
    // working directory on Node 24); the tests inside it carry theirs.
    if (!data?.file || data.nesting !== 0 || typeof data.name !== 'string' || resolve(data.name) !== data.file) continue;
    if (event.type === 'test:dequeue') startedAt.set(data.file, performance.now());
    if (event.type === 'test:complete') {
      const started = startedAt.get(data.file);
      const ms = started === undefined ? (data.details?.duration_ms ?? 0) : performance.now() - started;
      const ok = data.details?.passed ?? data.details?.error === undefined;
      yield `${JSON.stringify({ file: data.file, ms: Math.round(ms), ok })}\n`;
    }
  }
}
