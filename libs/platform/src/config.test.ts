import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Type } from 'typebox';
import { ConfigError, loadConfig } from './config.ts';

const Schema = Type.Object({
  http: Type.Object({ port: Type.Integer({ minimum: 0, maximum: 65535, default: 4001 }), host: Type.String({ default: '127.0.0.1' }) }),
  cors: Type.Object({ origins: Type.Array(Type.String(), { default: [] }) }),
  tracing: Type.Object({ sampleRatio: Type.Number({ minimum: 0, maximum: 1, default: 1 }), enabled: Type.Boolean({ default: false }) }),
});
const envMap = { PORT: 'http.port', HOST: 'http.host', CORS_ORIGINS: 'cors.origins', SAMPLE: 'tracing.sampleRatio', TRACE: 'tracing.enabled' };

describe('loadConfig', () => {
  it('fills every section from schema defaults when nothing is configured', () => {
    const config = loadConfig(Schema, { env: {}, envMap });
    assert.deepEqual(config, { http: { port: 4001, host: '127.0.0.1' }, cors: { origins: [] }, tracing: { sampleRatio: 1, enabled: false } });
  });

  it('converts environment strings to the schema types', () => {
    const config = loadConfig(Schema, { env: { PORT: '9000', SAMPLE: '0.1', TRACE: 'true', CORS_ORIGINS: '["https://a.example"]' }, envMap });
    assert.equal(config.http.port, 9000);
    assert.equal(config.tracing.sampleRatio, 0.1);
    assert.equal(config.tracing.enabled, true);
    assert.deepEqual(config.cors.origins, ['https://a.example']);
  });

  it('layers defaults, then the file, then the environment, then overrides', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'carshare-config-')), 'config.json');
    writeFileSync(file, JSON.stringify({ http: { port: 5000, host: '0.0.0.0' } }));
    const fromFile = loadConfig(Schema, { env: {}, envMap, file });
    assert.deepEqual(fromFile.http, { port: 5000, host: '0.0.0.0' });
    const envWins = loadConfig(Schema, { env: { PORT: '6000' }, envMap, file });
    assert.deepEqual(envWins.http, { port: 6000, host: '0.0.0.0' });
    const overrideWins = loadConfig(Schema, { env: { PORT: '6000' }, envMap, file, overrides: { 'http.port': 0 } });
    assert.equal(overrideWins.http.port, 0);
  });

  it('names the environment variable at fault', () => {
    assert.throws(() => loadConfig(Schema, { env: { PORT: '70000' }, envMap }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /PORT \(http\.port\)/);
      return true;
    });
    assert.throws(() => loadConfig(Schema, { env: { PORT: 'eighty' }, envMap }), /PORT \(http\.port\)/);
  });

  it('says which file could not be read', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'carshare-config-')), 'broken.json');
    writeFileSync(file, '{ not json');
    assert.throws(() => loadConfig(Schema, { env: {}, envMap, file }), /broken\.json/);
  });

  it('returns a frozen object so nobody copies and mutates config', () => {
    const config = loadConfig(Schema, { env: {}, envMap });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.http));
    assert.throws(() => {
      (config.http as { port: number }).port = 1;
    }, TypeError);
  });
});
