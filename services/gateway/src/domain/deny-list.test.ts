import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DenyList } from './deny-list.ts';

describe('deny list', () => {
  it('denies every token of a user issued up to the revocation, and none issued after', () => {
    let now = 1_000_000;
    const list = new DenyList({ now: () => now });
    list.revokeUser('u1', now, now + 900_000);
    assert.equal(list.isDenied({ userId: 'u1', issuedAtMs: now - 60_000 }), true);
    assert.equal(list.isDenied({ userId: 'u1', issuedAtMs: now }), true);
    assert.equal(list.isDenied({ userId: 'u1', issuedAtMs: now + 1_000 }), false, 'a token from a later login');
    assert.equal(list.isDenied({ userId: 'u2', issuedAtMs: now - 60_000 }), false);
    now += 900_000;
    assert.equal(list.isDenied({ userId: 'u1', issuedAtMs: 0 }), false, 'forgotten once no revoked token can be alive');
  });

  it('denies one session and leaves the user\'s other sessions alone', () => {
    const now = 5_000;
    const list = new DenyList({ now: () => now });
    list.revokeSession('s1', now + 1_000);
    assert.equal(list.isDenied({ userId: 'u1', sessionId: 's1', issuedAtMs: now }), true);
    assert.equal(list.isDenied({ userId: 'u1', sessionId: 's2', issuedAtMs: now }), false);
    assert.equal(list.isDenied({ userId: 'u1', issuedAtMs: now }), false);
  });

  it('keeps the wider of two revocations of one user', () => {
    const now = 10_000;
    const list = new DenyList({ now: () => now });
    list.revokeUser('u1', 9_000, 20_000);
    list.revokeUser('u1', 5_000, 15_000);
    assert.equal(list.isDenied({ userId: 'u1', issuedAtMs: 8_000 }), true);
  });

  it('ignores revocations that have already lapsed, and stays within its cap', () => {
    const now = 10_000;
    const list = new DenyList({ now: () => now, maxEntries: 3 });
    list.revokeUser('u0', now, now);
    assert.equal(list.size, 0);
    for (let index = 0; index < 10; index++) list.revokeSession(`s${index}`, now + 1_000);
    assert.equal(list.size, 3);
    assert.equal(list.isDenied({ userId: 'u', sessionId: 's9', issuedAtMs: now }), true, 'the newest are kept');
  });
});
