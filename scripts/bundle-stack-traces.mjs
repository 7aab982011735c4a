// Stack traces that name the TypeScript files for code run from dist/carshare.mjs, with the source
// map read only when a trace is first formatted.
//
// `process.setSourceMapsEnabled(true)` (what `node --enable-source-maps` does) does the same
// mapping, but Node 20 reads and parses the whole 5 MB map and counts the lines of the 10 MB
// bundle while loading it, and keeps both for the life of the process: ~70 ms of every start and
// ~10 MB of heap, for traces most runs never print. The format is Node's own
// (lib/internal/source_map/prepare_stack_trace.js): frames outside the bundle, and frames the map
// does not cover, are printed as V8 prints them.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const stackLineAt = '\n    at ';

/** Node's own errors print as `TypeError [ERR_X]: message`; they carry a private marker symbol. */
function isNodeError(error) {
  for (let object = error; object !== null && object !== undefined; object = Object.getPrototypeOf(object)) {
    if (Object.getOwnPropertySymbols(object).some((symbol) => symbol.description === 'kIsNodeError')) return true;
  }
  return false;
}

function headerOf(error) {
  try {
    if (typeof error === 'object' && error !== null && isNodeError(error)) return `${error.name} [${error.code}]: ${error.message}`;
    return Error.prototype.toString.call(error);
  } catch {
    return String(error);
  }
}

/**
 * Makes `Error.prepareStackTrace` map frames of `bundleFile` through `mapFile` (default
 * `<bundle>.map`), reading the map on the first trace that has such a frame. A map that cannot be
 * read leaves the frames as they are.
 */
export function mapStackTracesOf(bundleFile, mapFile = `${bundleFile}.map`) {
  const bundleNames = new Set([bundleFile, pathToFileURL(bundleFile).href]);
  /** undefined: not read yet; null: unreadable. */
  let map;
  const sourceMap = () => {
    if (map === undefined) {
      try {
        const payload = JSON.parse(readFileSync(mapFile, 'utf8'));
        const base = resolve(dirname(mapFile), payload.sourceRoot ?? '');
        payload.sources = payload.sources.map((source) => (source.startsWith('file://') ? fileURLToPath(source) : resolve(base, source)));
        map = new SourceMap(payload);
      } catch {
        map = null;
      }
    }
    return map;
  };

  const frame = (callSite, caller) => {
    const fileName = callSite.getFileName();
    if (fileName === undefined || fileName === null || !bundleNames.has(fileName)) return `${callSite}`;
    const sm = sourceMap();
    if (!sm) return `${callSite}`;
    const { originalLine, originalColumn, originalSource } = sm.findEntry(callSite.getLineNumber() - 1, callSite.getColumnNumber() - 1);
    if (originalSource === undefined || originalLine === undefined || originalColumn === undefined) return `${callSite}`;
    const name = originalSymbolName(sm, callSite, caller);
    const functionName = callSite.getFunctionName() ?? callSite.getMethodName();
    const prefix = callSite.isAsync() ? 'async ' : callSite.isConstructor() ? 'new ' : '';
    const typeName = callSite.getTypeName();
    const typePrefix = typeName !== null && typeName !== 'global' ? `${typeName}.` : '';
    const callSiteName = `${typePrefix}${functionName || '<anonymous>'}`;
    return `${prefix}${name && name !== callSiteName ? name : callSiteName} (${originalSource}:${originalLine + 1}:${originalColumn + 1})`;
  };

  Error.prepareStackTrace = (error, trace) => {
    const header = headerOf(error);
    if (trace.length === 0) return header;
    return header + trace.map((callSite, index) => {
      try {
        return `${stackLineAt}${frame(callSite, trace[index + 1])}`;
      } catch {
        return `${stackLineAt}${callSite}`;
      }
    }).join('');
  };
}

/** The name the map gives the enclosing function, or the caller's call, when the bundle renamed it. */
function originalSymbolName(sm, callSite, caller) {
  const enclosing = sm.findEntry(callSite.getEnclosingLineNumber() - 1, callSite.getEnclosingColumnNumber() - 1);
  if (enclosing.name) return enclosing.name;
  if (caller && caller.getFileName() === callSite.getFileName()) {
    const { name } = sm.findEntry(caller.getLineNumber() - 1, caller.getColumnNumber() - 1);
    if (name) return name;
  }
  return undefined;
}
