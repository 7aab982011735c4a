import { join } from 'node:path';
import * as contracts from '@carshare/contracts';

/**
 * The browser build of `@carshare/contracts` (the "browser" condition of its package.json, which
 * Vite follows): every exported value that is data, with the TypeBox schemas taken out. The apps
 * only read a route's method, URL, access and idempotency rule at run time; its schemas are types
 * to them. Built from the real contracts, the module cannot drift from them (the staleness test),
 * and the phone no longer downloads, parses and runs TypeBox and ~400 schemas before the log-in
 * screen answers (see e2e/src/web/web-vitals.test.ts).
 */
export const browserContractsPath = join('contracts', 'src', 'browser.generated.ts');

/** TypeBox marks its schemas with a non-enumerable `~kind`; a plain JSON Schema object would not be one. */
function isSchema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && '~kind' in value;
}

function isRoute(value: object): boolean {
  const route = value as { method?: unknown; url?: unknown; response?: unknown };
  return typeof route.method === 'string' && typeof route.url === 'string' && isSchema(route.response);
}

/** Documentation the OpenAPI document carries and no client reads at run time. */
const routeDocumentation = new Set(['summary', 'tags']);

/** `base` followed by a property access for `key`, as TypeScript would write it. */
function member(base: string, key: string | number): string {
  return typeof key === 'number' ? `${base}[${key}]` : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Where each object of the contracts' data is first said: an export's name, else the shortest
 * path into one (the dead-letter methods every service's RPC contract shares live at
 * `deadLetterRpcMethods.ListDeadLetters`, not at the first service's).
 */
function addresses(data: ReadonlyArray<readonly [string, unknown]>): Map<object, string> {
  const found = new Map<object, string>();
  let level: Array<[string, unknown]> = data.map(([name, value]) => [name, value]);
  while (level.length > 0) {
    const next: Array<[string, unknown]> = [];
    for (const [path, value] of level) {
      if (typeof value !== 'object' || value === null || isSchema(value) || found.has(value)) continue;
      found.set(value, path);
      if (Array.isArray(value)) value.forEach((item, index) => next.push([member(path, index), item]));
      else if (isPlainObject(value)) for (const [key, item] of Object.entries(value)) next.push([member(path, key), item]);
    }
    level = next;
  }
  return found;
}

/**
 * `value` (found at `path`) as TypeScript source, schemas left out. An object said elsewhere (a
 * route group inside `publicApi`, an event inside `eventDefinitions`, a shared method) is written
 * as that place, so the browser build keeps the identities the real module has and says each
 * thing once; `uses` collects the exports named. `mayName` refuses the export being written and
 * those waiting for it: a constant cannot name itself or one that names it (written inline then).
 */
function sourceOf(value: unknown, path: string, indent: string, address: Map<object, string>, uses: Set<string>, mayName: (root: string) => boolean): string {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'object') {
    const home = address.get(value);
    const root = home === undefined ? undefined : (/^[A-Za-z_$][A-Za-z0-9_$]*/.exec(home)?.[0] ?? home);
    if (home !== undefined && root !== undefined && home !== path && mayName(root)) {
      uses.add(root);
      return home;
    }
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item, index) => `${inner}${sourceOf(item, member(path, index), inner, address, uses, mayName)}`).join(',\n')}\n${indent}]`;
  }
  if (isPlainObject(value)) {
    const route = isRoute(value);
    const kept = Object.entries(value).filter(([key, item]) => !(item === undefined || typeof item === 'function' || isSchema(item) || (route && routeDocumentation.has(key))));
    if (kept.length === 0) return '{}';
    return `{\n${kept.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${sourceOf(item, member(path, key), inner, address, uses, mayName)}`).join(',\n')}\n${indent}}`;
  }
  throw new TypeError(`${path}: a ${typeof value} has no JSON form; keep it out of the exported contract data or teach browser-contracts.ts about it`);
}

export function renderBrowserContracts(): string {
  const data = Object.entries(contracts)
    .filter(([, value]) => typeof value !== 'function' && !isSchema(value))
    .sort(([a], [b]) => a.localeCompare(b));
  const address = addresses(data);
  const byName = new Map(data);
  const lines = [
    '// Generated by `npm run gen` (scripts/browser-contracts.ts) from contracts/src; do not edit.',
    '// The data of @carshare/contracts without its TypeBox schemas, for the browser build (browser.ts).',
    '',
  ];
  const written = new Set<string>();
  const writing = new Set<string>();
  // A constant is written after the ones it names: a module's constants exist in that order.
  const write = (name: string): void => {
    if (written.has(name)) return;
    written.add(name);
    writing.add(name);
    const uses = new Set<string>();
    const text = sourceOf(byName.get(name), name, '', address, uses, (root) => !writing.has(root));
    for (const used of uses) write(used);
    writing.delete(name);
    lines.push(`export const ${name} = ${text} as const;`, '');
  };
  for (const [name] of data) write(name);
  return lines.join('\n');
}
