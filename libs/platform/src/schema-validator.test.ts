import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
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

describe('defaults filled by typeBoxValidatorCompiler', () => {
  const flat = Type.Object({
    radiusM: Type.Integer({ default: 2_000 }),
    limit: Type.Integer({ default: 20 }),
    tags: Type.Array(Type.String(), { default: ['a'] }),
    category: Type.Optional(Type.Union([Type.Literal('small'), Type.Literal('van')])),
  });
  const nested = Type.Object({ page: Type.Object({ size: Type.Integer({ default: 10 }) }, { default: {} }), kind: Type.Optional(Type.String()) });
  const fill = (schema: typeof flat | typeof nested, value: unknown) =>
    (typeBoxValidatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '/x' }) as (value: unknown) => { value?: unknown }).call(undefined, value).value;

  it('fills a flat schema\'s defaults like Value.Default does, without sharing a default object between requests', () => {
    for (const value of [{}, { limit: 5 }, { radiusM: 1, limit: 1, tags: [], category: 'van' }, { category: 'small' }]) {
      assert.deepEqual(fill(flat, structuredClone(value)), Value.Default(flat, structuredClone(value)), JSON.stringify(value));
    }
    const first = fill(flat, {}) as { tags: string[] };
    first.tags.push('changed');
    assert.deepEqual((fill(flat, {}) as { tags: string[] }).tags, ['a']);
  });

  it('fills nested defaults through Value.Default', () => {
    assert.deepEqual(fill(nested, {}), { page: { size: 10 } });
    assert.deepEqual(fill(nested, { page: {} }), { page: { size: 10 } });
  });
});
