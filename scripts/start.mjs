// `npm start` (`node scripts/start.mjs up`): rebuilds dist/carshare.mjs only when its inputs
// changed (scripts/build-cli.mjs), then runs it in this same process: a second `node` after `&&`
// cost one more Node boot (~60–100 ms here) on every start.
//
// `npm start` runs it with `node --liftoff-only`: V8 then keeps PGlite's WebAssembly on its
// baseline compiler instead of re-compiling hot functions with TurboFan. Measured here: idle RSS
// with 2 services 271 → 215 MB and with 8 services 304 → 225 MB (`npm run bench -- memory`; the
// optimised code grew with every service's queries), warm start ready in ~850 → ~530 ms (the
// optimising compiles competed with start-up for 2 cores), and CPU per uncached /v1/me (a PGlite
// read each) unchanged within noise (median 878 vs 847 µs). It is process-wide: a WebAssembly-heavy
// library added later (OCR) should be measured with and without it.
//
// CARSHARE_STARTUP_TRACE=1 prints one `carshare-startup {json}` line on stderr with this process's
// timings (epoch ms), for `npm run bench -- startup`.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { bundlePath, ensureCliBundle } from './build-cli.mjs';
import { mapStackTracesOf } from './bundle-stack-traces.mjs';
import { ensureWebAppsForStart } from './build-web.mjs';

const entered = performance.timeOrigin + performance.now();
const bundle = await ensureCliBundle();
if (bundle.built) process.stdout.write(`carshare: rebuilt dist/carshare.mjs in ${Math.round(bundle.buildMs)} ms (${bundle.reason})\n`);
// The web apps the gateway serves at / and /admin, rebuilt only when stale (a stat per input when
// warm). `npm run dev` skips it: Vite serves the apps there.
if (process.env['CARSHARE_SKIP_WEB_BUILD'] !== '1') await ensureWebAppsForStart();
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
// Stack traces name the TypeScript files, as with `node --enable-source-maps`, but the map is
// read when a trace is first printed, not at every start (bundle-stack-traces.mjs).
mapStackTracesOf(bundlePath);
process.argv[1] = bundlePath;
await import(pathToFileURL(bundlePath).href);
