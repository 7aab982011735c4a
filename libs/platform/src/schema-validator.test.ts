import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from 'typebox';
import { typeBoxValidatorCompiler } from './schema-validator.ts';

const query = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    ratio: Type.Optional(Type.Number()),
    active: Type.Optional(Type.Boolean()),
    tags: Type.Optional(Type.Array(Type.Integer())),
    search: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

function validate(httpPart: 'querystring' | 'body', value: unknown): { value?: unknown; error?: unknown } {
  const validator = typeBoxValidatorCompiler({ schema: query, httpPart, method: 'GET', url: '/things' }) as (value: unknown) => { value?: unknown; error?: unknown };
  return validator(value);
}

describe('typeBoxValidatorCompiler', () => {
  it('turns canonical query text into numbers and booleans, and fills defaults', () => {
    assert.deepEqual(validate('querystring', { limit: '50', ratio: '-0.25', active: 'false', tags: ['1', '22'], search: '42' }).value, {
      limit: 50,
      ratio: -0.25,
      active: false,
      tags: [1, 22],
      search: '42',
    });
    assert.deepEqual(validate('querystring', { tags: '7' }).value, { limit: 20, tags: [7] });
  });

  for (const [spelling, what] of [
    ['1.5', 'a fraction'],
    ['true', 'a boolean word'],
    ['0x10', 'hex'],
    [' 5', 'a padded number'],
    ['1e1', 'an exponent'],
    ['', 'nothing'],
  ] as const) {
    it(`refuses ${what} (${JSON.stringify(spelling)}) for an integer instead of guessing`, () => {
      assert.ok(validate('querystring', { limit: spelling }).error, `limit=${spelling} passed`);
    });
  }

  it('refuses booleans spelled other than true or false, and numbers that are not numbers', () => {
    assert.ok(validate('querystring', { active: '1' }).error);
    assert.ok(validate('querystring', { ratio: 'Infinity' }).error);
    assert.ok(validate('querystring', { ratio: '1e400' }).error, 'Infinity after conversion is no JSON number');
  });

  it('takes JSON bodies as sent: a number in a string is an error, not a number', () => {
    assert.ok(validate('body', { limit: '5' }).error);
    assert.deepEqual(validate('body', { limit: 5 }).value, { limit: 5 });
  });
});
