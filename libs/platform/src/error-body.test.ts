import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderError } from './error-body.ts';
import { canonicalCodes, httpStatusOf, NotFound, Unavailable } from './errors.ts';

describe('renderError', () => {
  it('shows the domain reason as the public code and the canonical code between services', () => {
    const error = NotFound('USER_NOT_FOUND', 'no such user', { userId: 'u1' });
    assert.deepEqual(renderError(error, 'public', 't1'), {
      status: 404,
      body: { error: { code: 'USER_NOT_FOUND', message: 'no such user', details: { userId: 'u1' }, traceId: 't1' } },
      internal: false,
    });
    assert.deepEqual(renderError(error, 'rpc', 't1').body, {
      error: { code: 'NOT_FOUND', reason: 'USER_NOT_FOUND', message: 'no such user', details: { userId: 'u1' }, traceId: 't1' },
    });
  });

  it('maps framework client errors to 4xx with a stable reason', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    const rendered = renderError(tooLarge, 'public', 't');
    assert.equal(rendered.status, 413);
    assert.equal(rendered.body.error.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(rendered.internal, false);
  });

  it('turns validation failures into a 400 listing each problem', () => {
    const invalid = Object.assign(new Error('bad'), {
      validation: [{ instancePath: '/email', message: 'must match format "email"' }],
      validationContext: 'body',
    });
    const rendered = renderError(invalid, 'public', 't');
    assert.equal(rendered.status, 400);
    assert.deepEqual(rendered.body.error.details, { part: 'body', problems: [{ path: '/email', message: 'must match format "email"' }] });
  });

  it('hides unexpected errors behind a 500 that quotes the trace id', () => {
    const rendered = renderError(new TypeError('secret internals'), 'public', 'trace-9');
    assert.equal(rendered.status, 500);
    assert.equal(rendered.internal, true);
    assert.doesNotMatch(JSON.stringify(rendered.body), /secret internals/);
    assert.equal(rendered.body.error.traceId, 'trace-9');
  });

  it('gives every canonical code an HTTP status', () => {
    for (const code of canonicalCodes) assert.ok(httpStatusOf(code) >= 400, code);
    assert.equal(renderError(Unavailable('CIRCUIT_OPEN', 'x'), 'public', 't').status, 503);
  });
});
