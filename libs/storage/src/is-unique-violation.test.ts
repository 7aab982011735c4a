import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUniqueViolation, uniqueViolationConstraint } from './is-unique-violation.ts';

describe('isUniqueViolation', () => {
  it('finds SQLSTATE 23505 on the error or its cause chain', () => {
    const driverError = Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'users_email_key' });
    assert.equal(isUniqueViolation(driverError), true);
    const wrapped = new Error('insert failed', { cause: new Error('layer', { cause: driverError }) });
    assert.equal(isUniqueViolation(wrapped), true);
    assert.equal(uniqueViolationConstraint(wrapped), 'users_email_key');
  });

  it('says no for other errors and non-errors', () => {
    for (const other of [Object.assign(new Error('fk'), { code: '23503', constraint: 'x' }), new Error('plain'), null, undefined, '23505', { code: 23505 }]) {
      assert.equal(isUniqueViolation(other), false);
      assert.equal(uniqueViolationConstraint(other), undefined);
    }
  });
});
