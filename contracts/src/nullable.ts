import { Type, type Static, type TObject } from 'typebox';

/**
 * An object or null, as one schema: `{ type: ['object', 'null'], properties, … }` instead of
 * `anyOf: [object, { type: 'null' }]`. Both accept and serialise the same JSON, but for an anyOf
 * fast-json-stringify runs Ajv on the whole object (formats included) on every response to pick
 * the branch (~1.5 µs for a User); a type list is one null check. Valid JSON Schema and OpenAPI 3.1.
 */
export function NullableObject<T extends TObject>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: ['object', 'null'] });
}
