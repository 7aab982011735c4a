import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '@carshare/platform';
import { AsyncMutex } from './async-mutex.ts';

describe('AsyncMutex', () => {
  it('grants the lock to waiters in arrival order, one at a time', async () => {
    const mutex = new AsyncMutex();
    const order: string[] = [];
    let inside = 0;
    await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        mutex.runExclusive(async () => {
          inside++;
          assert.equal(inside, 1);
          order.push(name);
          await new Promise((resolve) => setTimeout(resolve, 2));
          inside--;
        }),
      ),
    );
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
  });

  it('gives up waiting with Unavailable DATABASE_BUSY and leaves the queue intact', async () => {
    const mutex = new AsyncMutex();
    const release = await mutex.acquire();
    const impatient = mutex.acquire(20);
    const patient = mutex.acquire();
    await assert.rejects(impatient, (error: unknown) => isAppError(error) && error.code === 'UNAVAILABLE' && error.reason === 'DATABASE_BUSY');
    release();
    release(); // a second call must not hand the lock out twice
    const releasePatient = await patient;
    let third = false;
    const next = mutex.acquire().then((r) => {
      third = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(third, false);
    releasePatient();
    (await next)();
  });
});
