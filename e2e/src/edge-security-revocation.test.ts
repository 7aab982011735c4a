import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createGatewayModule, loadGatewayConfig, type GatewayModule } from '@carshare/gateway-service';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery, createRpcConnector } from '@carshare/platform';
import { registeredService } from '@carshare/service-kit';
import { userDescriptor } from '@carshare/user-service';
import { createApiClient, type ApiClient } from './support/api-client.ts';
import { startTestPlatform, type TestPlatform } from './support/test-platform.ts';

/**
 * Revocation at the edge (issue 13 finding 1): a suspended operator loses operator access on
 * every gateway instance within 2 s, not when the access token expires 15 minutes later.
 * Two gateways: the platform's own, and a second module on the same bus calling the same user
 * service over HTTP, as a second instance would.
 */
describe('edge security: revocation reaches every gateway within 2 s', () => {
  let t: TestPlatform;
  let second: GatewayModule;
  let gateways: ApiClient[];
  const password = 'a long and unusual passphrase 7';

  before(async () => {
    t = await startTestPlatform();
    const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
    const discovery = new StaticDiscovery({ user: [t.platform.urlOf('user')] });
    second = createGatewayModule({
      config: loadGatewayConfig({ 'http.port': 0, 'rateLimits.enabled': false }),
      observability,
      discovery,
      services: [registeredService(userDescriptor)],
      rpc: createRpcConnector({ discovery }),
      bus: t.platform.bus,
    });
    await second.start();
    await second.server.listen({ host: '127.0.0.1', port: 0 });
    const address = second.server.server.address();
    assert.ok(address && typeof address === 'object');
    gateways = [t.api, createApiClient(`http://127.0.0.1:${address.port}`)];
    const users = t.platform.module(userDescriptor).users;
    await users.createAccount({ email: 'admin@revocation.test', password, displayName: 'Admin', role: 'admin', plan: 'unlimited' });
    await users.createAccount({ email: 'operator@revocation.test', password, displayName: 'Operator', role: 'operator', plan: 'unlimited' });
  });
  after(async () => {
    await second?.close();
    await t?.close();
  });

  async function login(email: string): Promise<{ token: string; userId: string }> {
    const response = await t.api.call('POST', '/v1/auth/login', { body: { email, password } });
    assert.equal(response.status, 200, response.text);
    return { token: response.body.tokens.accessToken as string, userId: response.body.user.id as string };
  }

  /** Ms until `gateway` refuses the operator route to `token`, polling every 50 ms for up to 5 s. */
  async function msUntilRefused(gateway: ApiClient, token: string, since: number): Promise<number> {
    while (performance.now() - since < 5_000) {
      const response = await gateway.call('GET', '/v1/admin/users', { token, query: { limit: 1 } });
      if (response.status === 401 || response.status === 403) return performance.now() - since;
      assert.equal(response.status, 200, response.text);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return Number.POSITIVE_INFINITY;
  }

  it('suspending an operator removes their operator access on both gateways within 2 s', async () => {
    const admin = await login('admin@revocation.test');
    const operator = await login('operator@revocation.test');
    for (const gateway of gateways) assert.equal((await gateway.call('GET', '/v1/admin/users', { token: operator.token, query: { limit: 1 } })).status, 200);

    const suspendedAt = performance.now();
    const suspend = await t.api.call('POST', `/v1/admin/users/${operator.userId}/suspend`, { token: admin.token, body: { reason: 'revocation test' } });
    assert.equal(suspend.status, 200, suspend.text);
    const elapsed = await Promise.all(gateways.map((gateway) => msUntilRefused(gateway, operator.token, suspendedAt)));
    for (const [index, ms] of elapsed.entries()) assert.ok(ms < 2_000, `gateway ${index + 1} still served the suspended operator after ${ms} ms`);
    // Their token is dead for everything, not only for operator routes.
    for (const gateway of gateways) assert.equal((await gateway.call('GET', '/v1/me', { token: operator.token })).status, 401);
  });

  it('a demoted operator loses operator access on both gateways within 2 s', async () => {
    const admin = await login('admin@revocation.test');
    const users = t.platform.module(userDescriptor).users;
    await users.createAccount({ email: 'demoted@revocation.test', password, displayName: 'Demoted', role: 'operator', plan: 'unlimited' });
    const operator = await login('demoted@revocation.test');
    for (const gateway of gateways) assert.equal((await gateway.call('GET', '/v1/admin/users', { token: operator.token, query: { limit: 1 } })).status, 200);
    const changedAt = performance.now();
    const demote = await t.api.call('PUT', `/v1/admin/users/${operator.userId}/role`, { token: admin.token, body: { role: 'rider' } });
    assert.equal(demote.status, 200, demote.text);
    const elapsed = await Promise.all(gateways.map((gateway) => msUntilRefused(gateway, operator.token, changedAt)));
    for (const [index, ms] of elapsed.entries()) assert.ok(ms < 2_000, `gateway ${index + 1} still served the demoted operator after ${ms} ms`);
  });
});
