import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failOnCall } from './fail-on-call.ts';

class Counter {
  #count = 0;
  async increment(): Promise<number> {
    this.#count += 1;
    return this.#count;
  }
}

describe('failOnCall', () => {
  it('fails only the n-th call, counted from now, and lets the others reach the real method', async () => {
    const counter = new Counter();
    await counter.increment();
    const failing = failOnCall(counter, 'increment', 2, new Error('disk full'));
    assert.equal(await counter.increment(), 2);
    await assert.rejects(counter.increment(), /disk full/);
    assert.equal(await counter.increment(), 3, 'the failed call must not reach the real method');
    assert.equal(failing.calls, 3);
  });

  it('fails every call from the n-th on for as many times as asked', async () => {
    const counter = new Counter();
    failOnCall(counter, 'increment', 1, new Error('down'), { times: 2 });
    await assert.rejects(counter.increment(), /down/);
    await assert.rejects(counter.increment(), /down/);
    assert.equal(await counter.increment(), 1);
  });

  it('reaches whoever took the fake before the fault was set, such as the use cases under test', async () => {
    const counter = new Counter();
    const useCase = ((held: Counter) => () => held.increment())(counter);
    failOnCall(counter, 'increment', 1, new Error('boom'));
    await assert.rejects(useCase(), /boom/);
    assert.equal(await useCase(), 1);
  });

  it('puts the real method back on restore', async () => {
    const port = { read: async () => 'real' };
    const failing = failOnCall(port, 'read', 1, new Error('boom'), { times: Infinity });
    await assert.rejects(port.read(), /boom/);
    failing.restore();
    assert.equal(await port.read(), 'real');
    const counter = new Counter();
    failOnCall(counter, 'increment', 1, new Error('boom')).restore();
    assert.equal(Object.hasOwn(counter, 'increment'), false);
    assert.equal(await counter.increment(), 1);
  });

  it('counts calls from 1', () => {
    assert.throws(() => failOnCall(new Counter(), 'increment', 0, new Error('x')), RangeError);
  });
});
