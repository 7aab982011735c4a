import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
// @ts-expect-error: a plain ES module script without types
import { mapStackTracesOf } from './bundle-stack-traces.mjs';

// A bundle built the way scripts/build-cli.mjs builds dist/carshare.mjs (ESM, linked map without
// sources), from two TypeScript files, so the trace has frames of both.
const sources = {
  'thrower.ts': ['export class Engine {', '  start(): never {', "    throw new Error('boom');", '  }', '}', ''].join('\n'),
  'entry.ts': ["import { Engine } from './thrower.ts';", '', 'export function run(): void {', '  new Engine().start();', '}', ''].join('\n'),
};

describe('stack traces of the CLI bundle', () => {
  let dir: string;
  let bundle: string;
  const previous = Error.prepareStackTrace?.bind(Error);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'carshare-stack-traces-'));
    mkdirSync(join(dir, 'src'));
    for (const [name, text] of Object.entries(sources)) writeFileSync(join(dir, 'src', name), text);
    bundle = join(dir, 'dist', 'bundle.mjs');
    await build({ entryPoints: [join(dir, 'src', 'entry.ts')], bundle: true, format: 'esm', platform: 'node', sourcemap: 'linked', sourcesContent: false, outfile: bundle, logLevel: 'silent' });
  });

  after(() => {
    Error.prepareStackTrace = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  it('name the TypeScript files and lines, the map read only when a trace is first printed', async () => {
    // The map is not there while the bundle loads: only a lazy reader still finds it.
    const map = `${bundle}.map`;
    renameSync(map, `${map}.aside`);
    mapStackTracesOf(bundle);
    const { run } = (await import(pathToFileURL(bundle).href)) as { run: () => void };
    renameSync(`${map}.aside`, map);

    const error = (() => {
      try {
        run();
      } catch (thrown) {
        return thrown as Error;
      }
      throw new Error('run() did not throw');
    })();
    const lines = (error.stack ?? '').split('\n');
    assert.equal(lines[0], 'Error: boom');
    assert.match(lines[1] ?? '', new RegExp(`^ {4}at Engine\\.start \\(${escape(join(dir, 'src', 'thrower.ts'))}:3:11\\)$`));
    assert.match(lines[2] ?? '', new RegExp(`^ {4}at run \\(${escape(join(dir, 'src', 'entry.ts'))}:4:16\\)$`));
    // Frames outside the bundle stay as V8 prints them.
    assert.ok(lines.slice(3).some((line) => line.includes('bundle-stack-traces.test.ts')), lines.join('\n'));
  });

  it("keep Node's own header for its errors and leave other files' frames alone", () => {
    mapStackTracesOf(bundle);
    const error = (() => {
      try {
        readFileSync({} as never);
      } catch (thrown) {
        return thrown as Error;
      }
      throw new Error('readFileSync did not throw');
    })();
    const lines = (error.stack ?? '').split('\n');
    assert.match(lines[0] ?? '', /^TypeError \[ERR_INVALID_ARG_TYPE\]: The "path" argument must be/);
    assert.ok(lines.some((line) => /^ {4}at .*bundle-stack-traces\.test\.ts:\d+:\d+\)?$/.test(line)), lines.join('\n'));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
