import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Static } from 'typebox';
import { Role, isStaff } from './user.ts';

describe('isStaff', () => {
  it('answers for every role the contract knows: operators and admins are staff, riders are not', () => {
    const expected: Record<Static<typeof Role>, boolean> = { rider: false, operator: true, admin: true };
    // A role added to the contract without a decision here fails this line, not production.
    const known = Role.anyOf.map((literal) => literal.const as string).sort();
    assert.deepEqual(known, Object.keys(expected).sort());
    for (const [role, staff] of Object.entries(expected)) assert.equal(isStaff(role as Static<typeof Role>), staff, role);
  });
});
