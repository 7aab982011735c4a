import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from 'typebox';
import { defineService, type AnyServiceDescriptor, type ServiceModule } from './service-descriptor.ts';
import { ServiceRegistry } from './service-registry.ts';

let port = 5000;

function service(name: string, calls: AnyServiceDescriptor['calls'], extra: Partial<AnyServiceDescriptor> = {}): AnyServiceDescriptor {
  port += 1;
  return defineService({
    name,
    envPrefix: name.toUpperCase(),
    defaultPort: port,
    configSchema: Type.Object({}),
    messaging: false,
    calls,
    createModule: () => ({}) as ServiceModule,
    ...extra,
  });
}

const names = (registry: ServiceRegistry) => registry.startOrder.map((descriptor) => descriptor.name);

describe('the service registry', () => {
  it('starts callees before their callers and the edge last, whatever the registration order', () => {
    const registry = new ServiceRegistry([
      service('gateway', 'every service', { edge: true }),
      service('trip', ['car', 'payment']),
      service('car', ['user']),
      service('payment', []),
      service('user', []),
    ]);
    assert.deepEqual(names(registry), ['user', 'car', 'payment', 'trip', 'gateway']);
  });

  it('tells a service about every other one, and the edge calls all of them', () => {
    const registry = new ServiceRegistry([service('user', []), service('car', ['user']), service('gateway', 'every service', { edge: true })]);
    assert.deepEqual(registry.othersThan('car').map((other) => other.name), ['user', 'gateway']);
    assert.deepEqual(registry.callees(registry.find('gateway') as AnyServiceDescriptor).map((callee) => callee.name), ['user', 'car']);
  });

  it('refuses two services that call each other, naming the cycle', () => {
    assert.throws(() => new ServiceRegistry([service('trip', ['car']), service('car', ['trip'])]), /cycle: trip → car → trip/);
  });

  it('refuses a call to a service that is not registered', () => {
    assert.throws(() => new ServiceRegistry([service('trip', ['car'])]), /'trip' calls 'car', which is not registered/);
  });

  it('refuses a name, env prefix or default port used twice', () => {
    const user = service('user', []);
    assert.throws(() => new ServiceRegistry([user, user]), /registered twice/);
    assert.throws(() => new ServiceRegistry([user, service('users', [], { envPrefix: 'USER' })]), /env prefix 'USER'/);
    assert.throws(() => new ServiceRegistry([user, service('car', [], { defaultPort: user.defaultPort })]), /default port/);
  });

  it('refuses names that cannot be a schema, a path segment and an env prefix', () => {
    assert.throws(() => service('Trip', []), /lower-case/);
    assert.throws(() => service('trip-log', []), /lower-case/);
    assert.throws(() => service('trip', [], { envPrefix: 'trip' }), /upper-case/);
  });
});
