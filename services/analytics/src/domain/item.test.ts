import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Caller } from '@carshare/platform';
import { mayRead, newItem } from './item.ts';

const owner: Caller = { userId: '01890a5d-ac96-774b-bcce-b302099a8057', role: 'rider', plan: 'free', token: 't' };
const stranger: Caller = { ...owner, userId: '01890a5d-ac96-774b-bcce-b302099a8058' };
const operator: Caller = { ...stranger, role: 'operator' };

describe('an item', () => {
  it('keeps its name trimmed', () => {
    assert.equal(newItem({ id: 'i', ownerId: owner.userId, name: '  keys  ', now: 0 }).name, 'keys');
  });

  it('refuses a blank or over-long name', () => {
    assert.throws(() => newItem({ id: 'i', ownerId: owner.userId, name: '   ', now: 0 }), { reason: 'INVALID_ITEM_NAME' });
    assert.throws(() => newItem({ id: 'i', ownerId: owner.userId, name: 'x'.repeat(101), now: 0 }), { reason: 'INVALID_ITEM_NAME' });
  });

  it('is readable by its owner and operators, not by other riders', () => {
    const item = newItem({ id: 'i', ownerId: owner.userId, name: 'keys', now: 0 });
    assert.equal(mayRead(item, owner), true);
    assert.equal(mayRead(item, operator), true);
    assert.equal(mayRead(item, stranger), false);
  });
});
