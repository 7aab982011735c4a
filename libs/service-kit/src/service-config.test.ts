import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, newServiceKeyPair, ServiceIdentitySigner, ServiceIdentityVerifier } from '@carshare/platform';
import { rpcTransportFromEnvironment, serviceKeysFromEnvironment } from './service-config.ts';

const environment = (env: Record<string, string>) => ({ env, configFile: undefined });

describe('RPC_TRANSPORT', () => {
  it('calls between modules of one process in process unless told otherwise', () => {
    assert.equal(rpcTransportFromEnvironment(environment({})), 'in-process');
    assert.equal(rpcTransportFromEnvironment(environment({ RPC_TRANSPORT: '' })), 'in-process');
    assert.equal(rpcTransportFromEnvironment(environment({ RPC_TRANSPORT: 'http' })), 'http');
    assert.equal(rpcTransportFromEnvironment(environment({ RPC_TRANSPORT: 'in-process' })), 'in-process');
  });

  it('refuses anything else at start, naming the variable', () => {
    assert.throws(() => rpcTransportFromEnvironment(environment({ RPC_TRANSPORT: 'tcp' })), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /RPC_TRANSPORT must be one of in-process, http, framed, not 'tcp'/);
      return true;
    });
  });
});

describe('SERVICE_IDENTITY_KEY / SERVICE_IDENTITY_PUBLIC_KEYS', () => {
  it('gives the laptop keys when neither is set, and the configured ring when both are', () => {
    assert.equal(serviceKeysFromEnvironment('user', environment({})).laptop, true);
    const gateway = newServiceKeyPair();
    const gatewayKeys = serviceKeysFromEnvironment('gateway', environment({ SERVICE_IDENTITY_KEY: gateway.privateKey }));
    const userKeys = serviceKeysFromEnvironment('user', environment({ SERVICE_IDENTITY_KEY: newServiceKeyPair().privateKey, SERVICE_IDENTITY_PUBLIC_KEYS: `gateway:${gateway.publicKey}` }));
    assert.equal(userKeys.laptop, false);
    const identity = new ServiceIdentitySigner('gateway', gatewayKeys).identityFor('user', undefined);
    assert.equal(new ServiceIdentityVerifier('user', userKeys).verify(identity).service, 'gateway');
  });

  it('refuses half a configuration or a malformed key at start, naming the variables', () => {
    for (const env of [{ SERVICE_IDENTITY_PUBLIC_KEYS: 'gateway:abc' }, { SERVICE_IDENTITY_KEY: 'too-short' }] as Record<string, string>[]) {
      assert.throws(() => serviceKeysFromEnvironment('user', environment(env)), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /SERVICE_IDENTITY_/);
        return true;
      });
    }
  });
});
