import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '@carshare/platform';
import type { UserRecord } from '../domain/user.ts';
import type { TransactionalUserStore } from '../ports.ts';
import { aUserRecord } from '../testing/user-factories.ts';

export interface UserStoreFixture {
  /** Runs `work` with the store as a transaction sees it (the compare-and-set needs one). */
  inTransaction<T>(work: (store: TransactionalUserStore) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const now = Date.parse('2026-03-01T08:00:00Z');

/**
 * What every user store does, the SQL one and the in-memory fake the use-case tests run on: if
 * the fake drifts from SQL, this fails rather than the use-case tests passing on a fiction.
 */
export function describeUserStoreContract(name: string, open: () => Promise<UserStoreFixture>): void {
  describe(`UserStore contract: ${name}`, () => {
    let fixture: UserStoreFixture;
    const run = <T>(work: (store: TransactionalUserStore) => Promise<T>) => fixture.inTransaction(work);
    // Ids in creation order, as UUIDv7 gives them; the last group tells them apart.
    const id = (n: number) => `0190a4c2-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
    const seeded: UserRecord[] = [
      aUserRecord({ id: id(1), email: 'ada@example.com', displayName: 'Ada Lovelace' }),
      aUserRecord({ id: id(2), email: 'op@fleet.test', displayName: 'Operator', role: 'operator' }),
      aUserRecord({ id: id(3), email: 'percent@example.com', displayName: '100% Bob' }),
      aUserRecord({ id: id(4), email: 'carol@example.com', displayName: 'Carol', status: 'suspended', suspendedReason: 'unpaid' }),
    ];

    before(async () => {
      fixture = await open();
      await run(async (store) => {
        for (const user of seeded) await store.insert(user);
      });
    });

    after(() => fixture.close());

    it('finds a user by id without the hash, and by email with it', async () => {
      const ada = seeded[0] as UserRecord;
      const { passwordHash, ...publicPart } = ada;
      assert.deepEqual(await run((store) => store.findById(ada.id)), publicPart);
      assert.deepEqual(await run((store) => store.findByEmailWithPassword('ada@example.com')), { ...publicPart, passwordHash });
      assert.equal(await run((store) => store.findById(id(99))), undefined);
    });

    it('refuses a second user with the same email as EMAIL_TAKEN', async () => {
      await assert.rejects(
        run((store) => store.insert(aUserRecord({ id: id(98), email: 'ada@example.com' }))),
        (error: unknown) => error instanceof AppError && error.reason === 'EMAIL_TAKEN',
      );
    });

    it('lists newest first after a position, filters by role and status, and searches literally in any case', async () => {
      const emails = (users: Array<{ email: string }>) => users.map((user) => user.email);
      const list = (query: Partial<Parameters<TransactionalUserStore['list']>[0]>) =>
        run((store) => store.list({ limit: 10, afterId: undefined, search: undefined, role: undefined, status: undefined, ...query }));
      assert.deepEqual(emails(await list({})), ['carol@example.com', 'percent@example.com', 'op@fleet.test', 'ada@example.com']);
      assert.deepEqual(emails(await list({ afterId: id(3), limit: 1 })), ['op@fleet.test']);
      assert.deepEqual(emails(await list({ role: 'operator' })), ['op@fleet.test']);
      assert.deepEqual(emails(await list({ status: 'suspended' })), ['carol@example.com']);
      assert.deepEqual(emails(await list({ search: 'LOVELACE' })), ['ada@example.com']);
      assert.deepEqual(emails(await list({ search: 'FLEET.test' })), ['op@fleet.test']);
      assert.deepEqual(emails(await list({ search: '0%' })), ['percent@example.com']);
      assert.deepEqual(emails(await list({ search: '%' })), ['percent@example.com'], '% is a literal');
      assert.deepEqual(emails(await list({ search: '_' })), [], '_ is a literal');
    });

    it('updates role and plan, and sets or clears the reason with the status', async () => {
      const updated = await run((store) => store.update(id(1), { role: 'operator', plan: 'premium' }, now));
      assert.deepEqual({ role: updated?.role, plan: updated?.plan, status: updated?.status }, { role: 'operator', plan: 'premium', status: 'active' });
      const reactivated = await run((store) => store.update(id(4), { status: 'active' }, now));
      assert.deepEqual({ status: reactivated?.status, reason: reactivated?.suspendedReason }, { status: 'active', reason: undefined });
      assert.equal(await run((store) => store.update(id(99), { plan: 'basic' }, now)), undefined);
    });

    it('changes the status only while it is the expected one', async () => {
      const suspended = await run((store) => store.updateIfStatus(id(3), 'active', { status: 'suspended', suspendedReason: 'damage' }, now));
      assert.deepEqual({ status: suspended?.status, reason: suspended?.suspendedReason }, { status: 'suspended', reason: 'damage' });
      assert.equal(await run((store) => store.updateIfStatus(id(3), 'active', { status: 'suspended', suspendedReason: 'again' }, now)), undefined);
      assert.equal((await run((store) => store.findById(id(3))))?.suspendedReason, 'damage');
      assert.equal(await run((store) => store.updateIfStatus(id(99), 'active', { status: 'suspended' }, now)), undefined);
    });
  });
}
