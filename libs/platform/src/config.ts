import { readFileSync } from 'node:fs';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** The environment, passed in by the service's config.ts: the only place that reads process.env. */
  env: Record<string, string | undefined>;
  /** Environment variable name → dotted path in the config object. */
  envMap: Record<string, string>;
  /** Optional JSON file layered between the schema defaults and the environment. */
  file?: string;
  /** Values that win over everything (CLI flags, tests). */
  overrides?: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Json;
  }
  node[keys[keys.length - 1] as string] = value;
}

function mergeDeep(target: Json, source: Json): Json {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (
      typeof value === 'object' && value !== null && !Array.isArray(value) &&
      typeof existing === 'object' && existing !== null && !Array.isArray(existing)
    ) {
      mergeDeep(existing as Json, value as Json);
    } else {
      target[key] = value;
    }
  }
  return target;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Schema defaults apply only inside objects that exist, so make every nested config object
 * exist first: a section nobody configured still gets its defaults.
 */
function seedSections(schema: TSchema, value: Json): Json {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!properties) return value;
  for (const [key, child] of Object.entries(properties)) {
    if ((child as { type?: unknown }).type !== 'object' || !(child as { properties?: unknown }).properties) continue;
    const existing = value[key];
    // A section with a default of its own gets that default whole, not an empty object.
    if (existing === undefined && (child as { default?: unknown }).default !== undefined) continue;
    if (existing === undefined) value[key] = {};
    if (typeof value[key] === 'object' && value[key] !== null && !Array.isArray(value[key])) seedSections(child, value[key] as Json);
  }
  return value;
}

/** Env values arrive as strings; JSON-looking ones (arrays, objects) are parsed so lists can be set. */
function fromEnvString(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * Parses configuration once: schema defaults → JSON file → environment → overrides, coerced
 * and checked against the schema. Fails fast with a message naming the variable at fault.
 */
export function loadConfig<S extends TSchema>(schema: S, sources: ConfigSources): Readonly<Static<S>> {
  const merged: Json = {};
  if (sources.file) {
    let fileContent: unknown;
    try {
      fileContent = JSON.parse(readFileSync(sources.file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`config file ${sources.file} cannot be read as JSON: ${(error as Error).message}`);
    }
    mergeDeep(merged, fileContent as Json);
  }
  const pathToEnv = new Map<string, string>();
  for (const [name, path] of Object.entries(sources.envMap)) {
    pathToEnv.set(path, name);
    const raw = sources.env[name];
    if (raw !== undefined && raw !== '') setPath(merged, path, fromEnvString(raw));
  }
  if (sources.overrides) {
    // Cloned: the result is frozen, and a caller's object must stay theirs.
    for (const [path, value] of Object.entries(sources.overrides)) setPath(merged, path, structuredClone(value));
  }
  const withDefaults = Value.Default(schema, seedSections(schema, merged));
  const converted = Value.Convert(schema, withDefaults);
  if (!Value.Check(schema, converted)) {
    const problems = Value.Errors(schema, converted).map((error) => {
      const path = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
      const envName = pathToEnv.get(path);
      const where = envName ? `${envName} (${path})` : path || '(root)';
      return `${where}: ${error.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return deepFreeze(converted);
}
