import { fastifyPlugin } from 'fastify-plugin';
import { InvalidArgument } from './errors.ts';

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (Array.isArray(value)) return value.some(containsNul);
  if (typeof value === 'object' && value !== null) return Object.entries(value).some(([key, child]) => key.includes('\0') || containsNul(child));
  return false;
}

/**
 * A JSON API's door: any body type but JSON is a 415 (not a string that fails validation later),
 * and a NUL character anywhere in the body or the query string is refused up front, since
 * PostgreSQL cannot store U+0000 in text and would fail deep in a query as a 500.
 */
export const inputGuardPlugin = fastifyPlugin(
  (app, _options, done) => {
    app.removeContentTypeParser('text/plain');
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, parsed) => {
      void parseJson(request, body as string, (error, value) => {
        // The text test is the cheap filter; the walk decides (an escaped backslash is no NUL).
        if (!error && (body as string).includes('\\u0000') && containsNul(value)) {
          parsed(InvalidArgument('INVALID_CHARACTER', 'strings may not contain the NUL character (\\u0000)'), undefined);
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
