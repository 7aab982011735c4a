import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RefreshTokenStore } from '../ports.ts';
import { aSession } from '../testing/user-factories.ts';

export interface RefreshTokenStoreFixture {
  store: RefreshTokenStore;
  /** Two users the tokens may belong to (SQL's foreign key wants them to exist). */
  userIds: readonly [string, string];
  close(): Promise<void>;
}

const issuedAt = Date.parse('2026-03-01T08:00:00Z');

/** What every refresh-token store does, the SQL one and the in-memory fake alike. */
export function describeRefreshTokenStoreContract(name: string, open: () => Promise<RefreshTokenStoreFixture>): void {
  describe(`RefreshTokenStore contract: ${name}`, () => {
    let fixture: RefreshTokenStoreFixture;

    before(async () => {
      fixture = await open();
    });

    after(() => fixture.close());

    it('stores and finds a token by its hash', async () => {
      const { record } = aSession({ id: fixture.userIds[0] }, { issuedAt });
      await fixture.store.insert(record);
      assert.deepEqual(await fixture.store.find(record.tokenHash), record);
      assert.equal(await fixture.store.find('no-such-hash'), undefined);
    });

    it('rotates a token once: the second rotation of the same token loses', async () => {
      const current = aSession({ id: fixture.userIds[0] }, { issuedAt }).record;
      await fixture.store.insert(current);
      const next = aSession({ id: fixture.userIds[0] }, { issuedAt: issuedAt + 1000, familyId: current.familyId }).record;
      const other = aSession({ id: fixture.userIds[0] }, { issuedAt: issuedAt + 1000, familyId: current.familyId }).record;
      assert.equal(await fixture.store.rotate(current.tokenHash, next, issuedAt + 1000), true);
      assert.equal(await fixture.store.rotate(current.tokenHash, other, issuedAt + 1000), false);
      assert.equal((await fixture.store.find(current.tokenHash))?.rotatedAt, issuedAt + 1000);
      assert.deepEqual(await fixture.store.find(next.tokenHash), next);
      assert.equal(await fixture.store.find(other.tokenHash), undefined);
    });

    it('revokes a family, or every token of a user, keeping the first revocation time', async () => {
      const [first, second] = fixture.userIds;
      const familyA = aSession({ id: first }, { issuedAt }).record;
      const sameFamily = aSession({ id: first }, { issuedAt, familyId: familyA.familyId }).record;
      const familyB = aSession({ id: first }, { issuedAt }).record;
      const otherUser = aSession({ id: second }, { issuedAt }).record;
      for (const record of [familyA, sameFamily, familyB, otherUser]) await fixture.store.insert(record);
      await fixture.store.revokeFamily(familyA.familyId, issuedAt + 1);
      assert.equal((await fixture.store.find(familyA.tokenHash))?.revokedAt, issuedAt + 1);
      assert.equal((await fixture.store.find(sameFamily.tokenHash))?.revokedAt, issuedAt + 1);
      assert.equal((await fixture.store.find(familyB.tokenHash))?.revokedAt, undefined);
      await fixture.store.revokeAllOfUser(first, issuedAt + 2);
      assert.equal((await fixture.store.find(familyA.tokenHash))?.revokedAt, issuedAt + 1);
      assert.equal((await fixture.store.find(familyB.tokenHash))?.revokedAt, issuedAt + 2);
      assert.equal((await fixture.store.find(otherUser.tokenHash))?.revokedAt, undefined);
      assert.equal(await fixture.store.rotate(familyB.tokenHash, aSession({ id: first }, { issuedAt }).record, issuedAt + 3), false, 'a revoked token does not rotate');
    });
  });
}
