import type { FastifySchemaCompiler, FastifySerializerCompiler, FastifyServerOptions } from 'fastify';
import fastJsonStringify from 'fast-json-stringify';
import type { TSchema } from 'typebox';
import { typeBoxValidatorCompiler } from './schema-validator.ts';

/**
 * Schema compilation on first use, once per schema per process.
 *
 * Fastify compiles every route's validators and response serializers when the route is added,
 * and `carshare up` adds ~400 routes and RPC methods over eight servers (a HEAD twin for every GET,
 * the error schema once per route and status): ~300 ms of a warm start's ~1.9 s of CPU here, and
 * a fast-json-stringify function plus an Ajv instance each, held for the life of the process,
 * for routes most runs never call. Compiled on the first request instead, and shared by every
 * route and server that uses the same schema object (the contracts define each schema once).
 * A schema fast-json-stringify or TypeBox cannot compile now fails its first request (a 500,
 * logged once with the stack) instead of the start; the contract tests exercise every route.
 */

type Compiled<Input, Output> = (input: Input) => Output;

/** `compile()` on the first call, its result for every call. One argument, no rest array per call. */
export function compiledOnFirstUse<Input, Output>(compile: () => Compiled<Input, Output>): Compiled<Input, Output> {
  let compiled: Compiled<Input, Output> | undefined;
  return (input) => (compiled ??= compile())(input);
}

// Serializers made with fastify's default options (no shared schemas, no serializerOpts) depend on
// the schema alone, so one per schema object serves every route and server.
const serializers = new WeakMap<object, Compiled<unknown, string>>();

/** fast-json-stringify with the options fastify's default serializer compiler passes. */
export function serializerFor(schema: object): Compiled<unknown, string> {
  // `true`/`false` are schemas too, and no WeakMap key.
  if (typeof schema !== 'object' || schema === null) return compiledOnFirstUse(() => fastJsonStringify(schema, { schema: {} }) as Compiled<unknown, string>);
  let serializer = serializers.get(schema);
  if (!serializer) {
    serializer = compiledOnFirstUse(() => fastJsonStringify(schema, { schema: {} }) as Compiled<unknown, string>);
    serializers.set(schema, serializer);
  }
  return serializer;
}

/**
 * Fastify's `schemaController.compilersFactory.buildSerializer`, lazy. With shared schemas
 * (`addSchema`) or serializer options it compiles as @fastify/fast-json-stringify-compiler does,
 * still on first use, but per route (the result then depends on more than the schema).
 */
export function buildLazySerializer(externalSchemas: unknown, serializerOpts: unknown): FastifySerializerCompiler<unknown> {
  const shared = (externalSchemas ?? {}) as Record<string, unknown>;
  if (Object.keys(shared).length === 0 && serializerOpts === undefined) return ({ schema }) => serializerFor(schema as object);
  return ({ schema }) =>
    compiledOnFirstUse(() => {
      const ownId = (schema as { $id?: string }).$id;
      const schemas = ownId !== undefined && ownId in shared ? Object.fromEntries(Object.entries(shared).filter(([id]) => id !== ownId)) : shared;
      return fastJsonStringify(schema as never, { ...(serializerOpts as object), schema: schemas as never }) as Compiled<unknown, string>;
    });
}

type Validation = ReturnType<ReturnType<FastifySchemaCompiler<TSchema>>>;
// Query strings, params and headers are converted from text, bodies are not: two entries per schema.
const validators = { body: new WeakMap<object, Compiled<unknown, Validation>>(), text: new WeakMap<object, Compiled<unknown, Validation>>() };

/** typeBoxValidatorCompiler on first use, one per schema object and kind of input. */
export const lazyTypeBoxValidatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  if (typeof route.schema !== 'object' || route.schema === null) return compiledOnFirstUse(() => typeBoxValidatorCompiler(route) as Compiled<unknown, Validation>);
  const cache = route.httpPart === 'body' ? validators.body : validators.text;
  let validator = cache.get(route.schema);
  if (!validator) {
    validator = compiledOnFirstUse(() => typeBoxValidatorCompiler(route) as Compiled<unknown, Validation>);
    cache.set(route.schema, validator);
  }
  return validator;
};

/**
 * Fastify's `schemaController` option with both compilers lazy. Given as factories rather than
 * through setValidatorCompiler, so that fastify never loads @fastify/ajv-compiler (and Ajv with its
 * formats), which nothing here uses. Fastify types the factories after Ajv's, hence the cast.
 */
export const lazySchemaController = {
  compilersFactory: { buildValidator: () => lazyTypeBoxValidatorCompiler, buildSerializer: buildLazySerializer },
} as unknown as NonNullable<FastifyServerOptions['schemaController']>;
