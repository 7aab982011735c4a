import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@carshare/platform';
import { rpcTransportFromEnvironment } from './service-config.ts';

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
      assert.match(error.message, /RPC_TRANSPORT must be one of in-process, http, not 'tcp'/);
      return true;
    });
  });
});
