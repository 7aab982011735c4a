import type { FastifyReply, FastifyRequest } from 'fastify';
import { fastifyPlugin } from 'fastify-plugin';
import { InvalidArgument } from './errors.ts';

/** Deeper than any body our contracts describe; deep enough that no legitimate client meets it. */
export const maxJsonDepth = 32;

/**
 * How deeply the JSON text nests arrays and objects, stopping as soon as it passes `limit`: one
 * pass over the characters, skipping strings, no recursion (so no stack to overflow, whatever
 * the depth). Run before parsing, so the walks after it (NUL check, validation) are bounded too.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      if (++depth > limit) return true;
    } else if (char === 0x7d || char === 0x5d) {
      depth--;
    }
  }
  return false;
}

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (Array.isArray(value)) return value.some(containsNul);
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([key, child]) => key.includes('\0') || containsNul(child));
  return false;
}

/**
 * HTTP/1.0 and 1.1 only: Node's parser takes a request line without a version as HTTP/0.9 (and
 * any digits as a version), which a proxy in front may read differently. Run by the request
 * lifecycle's onRequest hook.
 */
export function unsupportedHttpVersion(request: FastifyRequest, reply: FastifyReply): Error | undefined {
  if (request.raw.httpVersionMajor === 1) return undefined;
  void reply.header('connection', 'close');
  return InvalidArgument('UNSUPPORTED_HTTP_VERSION', 'the request line must end with HTTP/1.0 or HTTP/1.1');
}

const tooDeep = () => InvalidArgument('JSON_TOO_DEEP', `JSON bodies may nest arrays and objects at most ${maxJsonDepth} levels deep`, { maxDepth: maxJsonDepth });
const nulCharacter = () => InvalidArgument('INVALID_CHARACTER', 'strings may not contain the NUL character (\\u0000)');

/**
 * A JSON body by this door's rules, for the RPC transports that do not go through fastify's
 * parser (in process, framed): nesting bounded, JSON, no NUL anywhere.
 */
export function parseGuardedJson(text: string): unknown {
  if (jsonDepthExceeds(text, maxJsonDepth)) throw tooDeep();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw InvalidArgument('MALFORMED_JSON', 'the body is not JSON');
  }
  // The text test is the cheap filter; the walk decides (an escaped backslash is no NUL).
  if (text.includes('\\u0000') && containsNul(value)) throw nulCharacter();
  return value;
}

/**
 * A JSON API's door: any body type but JSON is a 415 (not a string that fails validation later),
 * and a NUL character anywhere in the body or the query string is refused up front, since
 * PostgreSQL cannot store U+0000 in text and would fail deep in a query as a 500. Nesting is
 * bounded, and only HTTP/1.x request lines are taken.
 */
export const inputGuardPlugin = fastifyPlugin(
  (app, _options, done) => {
    app.removeContentTypeParser('text/plain');
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, parsed) => {
      if (jsonDepthExceeds(body as string, maxJsonDepth)) {
        parsed(tooDeep(), undefined);
        return;
      }
      void parseJson(request, body as string, (error, value) => {
        // The text test is the cheap filter; the walk decides (an escaped backslash is no NUL).
        if (!error && (body as string).includes('\\u0000') && containsNul(value)) {
          parsed(nulCharacter(), undefined);
          return;
        }
        parsed(error, value);
      });
    });

    // After authentication (route onRequest hooks), before validation: who may call comes first.
    app.addHook('preValidation', (request, _reply, next) => {
      const queryStart = request.url.indexOf('?');
      if (queryStart >= 0 && request.url.includes('%00', queryStart)) {
        next(InvalidArgument('INVALID_CHARACTER', 'the query string may not contain the NUL character (%00)'));
        return;
      }
      next();
    });
    done();
  },
  { name: 'carshare-input-guard', fastify: '5.x' },
);
