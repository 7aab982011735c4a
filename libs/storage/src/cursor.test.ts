import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { decodeCursor, encodeCursor } from './cursor.ts';

function isInvalidCursor(error: unknown): boolean {
  return isAppError(error) && error.code === 'INVALID_ARGUMENT' && error.reason === 'INVALID_CURSOR';
}

describe('keyset cursor', () => {
  it('round-trips every supported key type with its JavaScript type intact', () => {
    const values = ['0190f0c4-trip', 42, -1.5, true, false, null, new Date('2025-03-04T05:06:07.089Z'), 2n ** 70n];
    const cursor = encodeCursor(values);
    assert.deepEqual(decodeCursor(cursor), values);
  });

  it('is URL-safe and says nothing readable at a glance', () => {
    const cursor = encodeCursor(['a/b+c?', 'ü', 1]);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.doesNotMatch(cursor, /a\/b/);
  });

  it('refuses to encode values that would not come back as themselves', () => {
    for (const bad of [{ id: 1 }, [1], Number.NaN, Number.POSITIVE_INFINITY, new Date('nope'), undefined, Symbol('s')]) {
      assert.throws(() => encodeCursor([bad]), TypeError, `accepted ${typeof bad === 'symbol' ? bad.toString() : JSON.stringify(bad) ?? typeof bad}`);
    }
    assert.throws(() => encodeCursor([]), TypeError);
  });

  it('rejects malformed cursors with InvalidArgument INVALID_CURSOR', () => {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
    const malformed = [
      '',
      'not base64!',
      'abc=',
      b64('not json'),
      b64('{"a":1}'),
      b64('[]'),
      b64('[{"x":1}]'),
      b64('[{"d":"not a date"}]'),
      b64('[{"b":"12x"}]'),
      b64('[{"d":"2025-01-01T00:00:00Z","b":"1"}]'),
      b64('[[1]]'),
      'A'.repeat(4096),
    ];
    for (const cursor of malformed) assert.throws(() => decodeCursor(cursor), isInvalidCursor, `accepted ${cursor}`);
    assert.throws(() => decodeCursor(42 as unknown as string), isInvalidCursor);
  });
});
