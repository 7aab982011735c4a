import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Discovery, ServiceInstance } from './discovery.ts';

/** A discovery adapter under test, with the instances it should know about. */
export interface DiscoveryFixture {
  discovery: Discovery;
  /**
   * Makes the adapter's source say these instances exist now (dynamic adapters); absent for a
   * static list, whose content is fixed at construction.
   */
  change?: (instances: Readonly<Record<string, readonly ServiceInstance[]>>) => Promise<void>;
  close(): Promise<void>;
}

async function eventually(check: () => void, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

function sorted(urls: readonly string[]): string[] {
  return [...urls].sort();
}

/**
 * What every Discovery adapter promises (static, DNS, etcd): each instance of a service listed,
 * an unknown service refused with SERVICE_NOT_DISCOVERED, and for the dynamic ones, instances
 * that join or leave reflected within a second.
 */
export function discoveryContract(name: string, makeFixture: (initial: Readonly<Record<string, readonly ServiceInstance[]>>) => Promise<DiscoveryFixture>): void {
  const user = [{ url: 'http://10.0.0.1:4001' }, { url: 'http://10.0.0.2:4001' }];
  const car = [{ url: 'http://10.0.1.1:4002' }];

  it(`${name}: lists every instance of each service`, async () => {
    const fixture = await makeFixture({ user, car });
    try {
      await eventually(() => {
        assert.deepEqual(sorted(fixture.discovery.endpointsOf('user')), sorted(user.map((instance) => instance.url)));
        assert.deepEqual(fixture.discovery.endpointsOf('car'), ['http://10.0.1.1:4002']);
      });
    } finally {
      await fixture.close();
    }
  });

  it(`${name}: a service with no instance is refused with SERVICE_NOT_DISCOVERED`, async () => {
    const fixture = await makeFixture({ car });
    try {
      assert.throws(() => fixture.discovery.endpointsOf('payment'), (error: Error & { reason?: string }) => error.reason === 'SERVICE_NOT_DISCOVERED');
    } finally {
      await fixture.close();
    }
  });

  it(`${name}: instances that join and leave are seen within a second`, async (t) => {
    const fixture = await makeFixture({ user: user.slice(0, 1) });
    try {
      if (!fixture.change) {
        t.skip('a static list does not change');
        return;
      }
      await eventually(() => assert.deepEqual(fixture.discovery.endpointsOf('user'), ['http://10.0.0.1:4001']));
      await fixture.change({ user });
      await eventually(() => assert.deepEqual(sorted(fixture.discovery.endpointsOf('user')), sorted(user.map((instance) => instance.url))), 1_000);
      await fixture.change({ user: user.slice(1) });
      await eventually(() => assert.deepEqual(fixture.discovery.endpointsOf('user'), ['http://10.0.0.2:4001']), 1_000);
    } finally {
      await fixture.close();
    }
  });
}
