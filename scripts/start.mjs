// `npm start` (`node scripts/start.mjs up`): rebuilds dist/carshare.mjs only when its inputs
// changed (scripts/build-cli.mjs), then runs it in this same process: a second `node` after `&&`
// cost one more Node boot (~60–100 ms here) on every start.
//
// CARSHARE_STARTUP_TRACE=1 prints one `carshare-startup {json}` line on stderr with this process's
// timings (epoch ms), for `npm run bench -- startup`.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { bundlePath, ensureCliBundle } from './build-cli.mjs';

const entered = performance.timeOrigin + performance.now();
const bundle = await ensureCliBundle();
if (bundle.built) process.stdout.write(`carshare: rebuilt dist/carshare.mjs in ${Math.round(bundle.buildMs)} ms (${bundle.reason})\n`);
if (process.env['CARSHARE_STARTUP_TRACE'] === '1') {
  const trace = {
    processStart: performance.timeOrigin,
    entered,
    bundleChecked: entered + bundle.checkMs,
    bundleBuilt: entered + bundle.checkMs + bundle.buildMs,
    built: bundle.built,
  };
  process.stderr.write(`carshare-startup ${JSON.stringify(trace)}\n`);
}
// What `node --enable-source-maps` does, for the modules loaded from here on: stack traces name
// the TypeScript files (the linked map is read only when a trace needs it).
process.setSourceMapsEnabled(true);
process.argv[1] = bundlePath;
await import(pathToFileURL(bundlePath).href);
