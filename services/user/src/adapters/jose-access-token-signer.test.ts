import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger, type Logger } from '@carshare/observability';
import { createAccessTokenVerifier, uuidV7Ids } from '@carshare/platform';
import { openSqlEngine, type ServiceDatabase, type SqlEngine } from '@carshare/storage';
import { FakeClock, captureLogs } from '@carshare/testing';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import type { User } from '../domain/user.ts';
import { userMigrationsDir } from '../module.ts';
import { JoseAccessTokenSigner } from './jose-access-token-signer.ts';
import { signingKeyMetricNames, signingKeyMetrics } from './signing-key-metrics.ts';
import { SigningKeyVault } from './signing-key-vault.ts';

const rider: User = {
  id: '0190a4c2-1234-7abc-8def-0123456789ab',
  email: 'rider@example.com',
  displayName: 'Rider',
  role: 'rider',
  plan: 'free',
  status: 'active',
  emailVerified: true,
  suspendedReason: undefined,
  createdAt: 0,
};

function newKeyEncryptionKey(): string {
  return randomBytes(32).toString('base64url');
}

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;
}

const silentLogger = createLogger({ service: 'user', level: 'silent', pretty: false });

async function metricValue(registry: Registry, name: string): Promise<number | undefined> {
  return (await registry.getSingleMetric(name)?.get())?.values[0]?.value;
}

/** Lets the reload a mocked timer started run to its end: it awaits real database I/O. */
async function settled(condition: () => Promise<boolean>): Promise<void> {
  for (let turn = 0; turn < 10_000; turn += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail('the background reload never finished');
}

const clock = new FakeClock('2026-03-01T08:00:00Z');
let engine: SqlEngine;
let schemaCount = 0;

before(async () => {
  engine = await openSqlEngine({ dataDir: 'memory://' });
});

after(async () => {
  await engine.close();
});

async function freshDatabase(): Promise<ServiceDatabase> {
  const database = engine.forService(`signer_${++schemaCount}`);
  await database.migrate(userMigrationsDir);
  return database;
}

function signerOn(
  database: ServiceDatabase,
  keyEncryptionKey: string | undefined,
  observed: { logger: Logger; registry: Registry } = { logger: silentLogger, registry: new Registry() },
): JoseAccessTokenSigner {
  return new JoseAccessTokenSigner(database, clock, uuidV7Ids, {
    accessTokenTtlSeconds: 900,
    reloadIntervalMs: 60_000,
    vault: new SigningKeyVault(keyEncryptionKey),
    logger: observed.logger,
    metrics: signingKeyMetrics(observed.registry),
  });
}

describe('JoseAccessTokenSigner reloading keys in the background', () => {
  it('logs and counts a failed reload, keeps signing with the last key, and keeps the time of the last good reload', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const database = await freshDatabase();
    const logs = captureLogs();
    const registry = new Registry();
    const signer = signerOn(database, undefined, {
      logger: createLogger({ service: 'user', level: 'info', pretty: false, destination: logs.destination }),
      registry,
    });
    const failures = () => metricValue(registry, signingKeyMetricNames.reloadFailures);
    const lastReload = () => metricValue(registry, signingKeyMetricNames.lastReload);
    await signer.start();
    assert.equal(await lastReload(), clock.now() / 1000);
    const lastGood = clock.now() + 60_000;
    clock.advance(60_000);
    t.mock.timers.tick(60_000);
    await settled(async () => (await lastReload()) === lastGood / 1000);

    // The table going away stands for any reload failure: a dropped connection, a revoked grant.
    await sql`alter table signing_keys rename to signing_keys_away`.execute(database.db);
    clock.advance(60_000);
    t.mock.timers.tick(60_000);
    await settled(async () => (await failures()) === 1);
    assert.equal(await lastReload(), lastGood / 1000, 'a failed reload must not look like a fresh one');
    const [line, ...more] = logs.at('error');
    assert.ok(line, 'a failed reload was not logged');
    assert.equal(more.length, 0);
    assert.match(String(line['msg']), /could not be reloaded/);
    await signer.sign(rider, 'f0000000-0000-7000-8000-000000000001');

    await sql`alter table signing_keys_away rename to signing_keys`.execute(database.db);
    clock.advance(60_000);
    t.mock.timers.tick(60_000);
    await settled(async () => (await lastReload()) === clock.now() / 1000);
    assert.equal(await failures(), 1);
    signer.stop();
  });
});

describe('JoseAccessTokenSigner with a key-encryption key', () => {

  async function storedKeys(database: ServiceDatabase): Promise<Array<{ kid: string; private_jwk: Record<string, unknown> }>> {
    const { rows } = await sql<{ kid: string; private_jwk: Record<string, unknown> }>`select kid, private_jwk from signing_keys`.execute(database.db);
    return rows;
  }

  it('stores no private key material in the clear, and signs tokens that verify after a restart', async () => {
    const database = await freshDatabase();
    const kek = newKeyEncryptionKey();
    const first = signerOn(database, kek);
    await first.start();
    first.stop();
    const [row] = await storedKeys(database);
    assert.ok(row && typeof row.private_jwk['jwe'] === 'string');
    assert.equal(row.private_jwk['d'], undefined);
    assert.ok(!JSON.stringify(row.private_jwk).includes('"d"'));

    const restarted = signerOn(database, kek);
    await restarted.start();
    const { token } = await restarted.sign(rider, 'f0000000-0000-7000-8000-000000000001');
    restarted.stop();
    const caller = await createAccessTokenVerifier({ keys: restarted.keyLookup, clock }).verify(token);
    assert.equal(caller.userId, rider.id);
    assert.equal(kidOf(token), row.kid);
  });

  it('refuses to start without the key-encryption key, or with another one, and says which variable to set', async () => {
    const database = await freshDatabase();
    const sealing = signerOn(database, newKeyEncryptionKey());
    await sealing.start();
    sealing.stop();
    await assert.rejects(signerOn(database, undefined).start(), /is encrypted: set USER_KEY_ENCRYPTION_KEY/);
    await assert.rejects(signerOn(database, newKeyEncryptionKey()).start(), /sealed with another USER_KEY_ENCRYPTION_KEY/);
  });

  it('seals keys stored in the clear once a key-encryption key is configured, keeping their kid', async () => {
    const database = await freshDatabase();
    const clear = signerOn(database, undefined);
    await clear.start();
    clear.stop();
    const [before] = await storedKeys(database);
    assert.ok(before && typeof before.private_jwk['d'] === 'string', 'without a KEK the key is stored as a JWK');

    const sealing = signerOn(database, newKeyEncryptionKey());
    await sealing.start();
    const { token } = await sealing.sign(rider, 'f0000000-0000-7000-8000-000000000001');
    sealing.stop();
    const [after] = await storedKeys(database);
    assert.ok(after && typeof after.private_jwk['jwe'] === 'string');
    assert.equal(kidOf(token), before.kid);
  });

  it('will not sign with a sealed key moved to another key’s row', async () => {
    const database = await freshDatabase();
    const kek = newKeyEncryptionKey();
    const signer = signerOn(database, kek);
    await signer.start();
    const oldKid = (await storedKeys(database))[0]?.kid;
    await signer.rotate();
    signer.stop();
    const newKid = (await storedKeys(database)).find((row) => row.kid !== oldKid)?.kid;
    assert.ok(oldKid && newKid);
    await sql`update signing_keys set private_jwk = (select private_jwk from signing_keys where kid = ${oldKid}) where kid = ${newKid}`.execute(database.db);
    await assert.rejects(signerOn(database, kek).start(), /belongs to/);
  });
});

describe('SigningKeyVault', () => {
  it('takes only a 32-byte key', () => {
    assert.throws(() => new SigningKeyVault(randomBytes(16).toString('base64url')), /32 bytes/);
  });
});
