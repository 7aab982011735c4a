import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { parseIdempotencyKey, requestFingerprint } from './idempotency-guard.ts';

describe('parseIdempotencyKey', () => {
  it('takes a bare key or the draft’s quoted sf-string, and nothing when absent', () => {
    assert.equal(parseIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
    assert.equal(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"'), '8e03978e-40d5-43e8-bc93-6894a57f9324');
    assert.equal(parseIdempotencyKey('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(parseIdempotencyKey(undefined), undefined);
  });

  it('refuses empty, long, spaced, quoted-inside, escaped, non-ASCII or repeated keys', () => {
    for (const header of ['', '""', 'x'.repeat(256), 'a b', 'a"b', '"a', 'a\\b', 'clé', ['a', 'b']]) {
      assert.throws(() => parseIdempotencyKey(header), (error) => isAppError(error) && error.reason === 'IDEMPOTENCY_KEY_MALFORMED', JSON.stringify(header));
    }
  });
});

describe('requestFingerprint', () => {
  const base = { method: 'POST', url: '/v1/things', query: {}, body: { a: 1, nested: { x: [1, 2], y: null } } };

  it('does not depend on the order of object keys', () => {
    assert.equal(requestFingerprint(base), requestFingerprint({ ...base, body: { nested: { y: null, x: [1, 2] }, a: 1 } }));
  });

  it('tells apart method, path, query, body values and array order', () => {
    const fingerprint = requestFingerprint(base);
    for (const other of [
      { ...base, method: 'PUT' },
      { ...base, url: '/v1/others' },
      { ...base, query: { dryRun: true } },
      { ...base, body: { a: 2, nested: { x: [1, 2], y: null } } },
      { ...base, body: { a: 1, nested: { x: [2, 1], y: null } } },
      { ...base, body: { a: '1', nested: { x: [1, 2], y: null } } },
    ]) {
      assert.notEqual(requestFingerprint(other), fingerprint, JSON.stringify(other));
    }
  });

  it('reads the path without the query string: the parsed query counts instead', () => {
    assert.equal(requestFingerprint({ ...base, url: '/v1/things?b=2&a=1', query: { a: '1', b: '2' } }), requestFingerprint({ ...base, url: '/v1/things?a=1&b=2', query: { b: '2', a: '1' } }));
  });
});
