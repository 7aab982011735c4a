import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStaff } from '@carshare/contracts';
import { isOperator, roles } from './call-context.ts';

describe('isOperator', () => {
  it('is the contract’s staff check applied to a caller, for every role', () => {
    for (const role of roles) assert.equal(isOperator({ userId: 'u', role, plan: 'free', token: 't' }), isStaff(role), role);
  });

  it('is false for an anonymous call', () => {
    assert.equal(isOperator(undefined), false);
  });
});
