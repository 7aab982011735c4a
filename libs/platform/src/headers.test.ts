import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken } from './headers.ts';

describe('bearerToken', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl';

  it('reads the token whatever the case of the scheme (RFC 6750 / RFC 9110 §11.1)', () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) assert.equal(bearerToken(`${scheme} ${jwt}`), jwt, scheme);
  });

  it('accepts every b64token character, trailing = included', () => {
    assert.equal(bearerToken('Bearer aZ09-._~+/=='), 'aZ09-._~+/==');
  });

  it('finds no token in other schemes, missing tokens or malformed credentials', () => {
    for (const header of [undefined, ['Bearer a', 'Bearer b'], '', 'Bearer', 'Bearer ', `Basic ${jwt}`, `Token ${jwt}`, jwt, 'Bearer a b', `Bearer  ${jwt}`, 'Bearer a=b', 'Bearer tök', `Bearer ${jwt} `, `Bearer\t${jwt}`]) {
      assert.equal(bearerToken(header), undefined, JSON.stringify(header));
    }
  });
});
