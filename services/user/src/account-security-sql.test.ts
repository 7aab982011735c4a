import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { AppError, ServiceIdentitySigner, laptopServiceKeys, serviceIdentityHeader } from '@carshare/platform';
import { InProcessEventBus } from '@carshare/messaging';
import { openSqlEngine, type SqlEngine } from '@carshare/storage';
import { FakeClock } from '@carshare/testing';
import { SMTPServer } from 'smtp-server';
import { sql, type Kysely } from 'kysely';
import { SqlMailTokenStore } from './adapters/sql-mail-token-store.ts';
import type { UserDatabase } from './adapters/user-database.ts';
import { loadUserConfig } from './config.ts';
import { createUserModule, type UserModule } from './module.ts';
import { FakePasswordHasher } from './testing/fake-password-hasher.ts';

// Issue 13 on a real PGlite and a real SMTP server (smtp-server, started here on a free port):
// what the in-memory fakes cannot show — mail leaving over SMTP after the commit, one winner of
// two racing uses of a token, the SQL attempt counts, and the RPC port throttling a direct caller.

interface ReceivedMail {
  to: string[];
  raw: string;
}

/** The token in a mail as sent: the body may be quoted-printable (soft line breaks, `=3D` for `=`). */
function tokenIn(raw: string): string {
  const text = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  const match = /token=([A-Za-z0-9_-]+)/.exec(text);
  assert.ok(match?.[1], `no token in: ${text.slice(0, 400)}`);
  return match[1];
}

function reasonOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'ok';
  return result.reason instanceof AppError ? result.reason.reason : String(result.reason);
}

describe('account security on PGlite with a real SMTP server', () => {
  const clock = new FakeClock('2026-03-01T08:00:00Z');
  const received: ReceivedMail[] = [];
  let smtp: SMTPServer;
  let engine: SqlEngine;
  let bus: InProcessEventBus;
  let module: UserModule;
  let rpcBase: string;

  before(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((address) => address.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const address = smtp.server.address();
    assert.ok(address && typeof address === 'object');
    engine = await openSqlEngine({ dataDir: 'memory://' });
    bus = new InProcessEventBus();
    module = createUserModule({
      config: loadUserConfig({ 'log.level': 'silent', 'mail.smtpUrl': `smtp://127.0.0.1:${address.port}`, 'mail.relayIntervalMs': 60_000 }),
      observability: createObservability({ service: 'user', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false }),
      database: engine.forService('user'),
      bus,
      concurrentRelays: false,
      clock,
      passwords: new FakePasswordHasher(),
    });
    await module.start();
    await module.server.listen({ host: '127.0.0.1', port: 0 });
    const rpcAddress = module.server.server.address();
    assert.ok(rpcAddress && typeof rpcAddress === 'object');
    rpcBase = `http://127.0.0.1:${rpcAddress.port}`;
  });

  after(async () => {
    await module.close();
    await bus.close();
    await engine.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('sends the verification mail over SMTP after the commit, and the link in it verifies the address once', async () => {
    await module.users.register({ email: 'smtp@example.com', password: 'plum tractor 42', displayName: 'Sam' });
    assert.equal(received.length, 0, 'nothing leaves before the relay runs');
    assert.equal(await module.mailRelay?.deliverPending(), 1);
    const [mail] = received;
    assert.deepEqual(mail?.to, ['smtp@example.com']);
    assert.match(mail?.raw ?? '', /Subject: Confirm your carshare address/);
    const token = tokenIn(mail?.raw ?? '');
    const [sent] = await module.mailOutbox.list({ limit: 1, recipient: 'smtp@example.com' });
    assert.ok(sent?.sentAt !== undefined, 'the outbox row is stamped sent');
    assert.equal(await module.mailRelay?.deliverPending(), 0, 'and not sent again');
    const results = await Promise.allSettled([module.users.verifyEmail({ token }), module.users.verifyEmail({ token })]);
    assert.deepEqual(results.map(reasonOf).sort(), ['INVALID_MAIL_TOKEN', 'ok']);
    assert.equal((await module.users.login({ email: 'smtp@example.com', password: 'plum tractor 42' })).user.emailVerified, true);
  });

  it('spends a mail token once in SQL, whatever read the caller made before (the guard PostgreSQL needs under concurrency)', async () => {
    const owner = await module.users.createAccount({ email: 'once@example.com', password: 'plum tractor 42', displayName: 'Once', role: 'rider', plan: 'free' });
    const store = new SqlMailTokenStore(engine.forService('user').db as unknown as Kysely<UserDatabase>);
    const now = clock.now();
    await store.insert({ tokenHash: 'once-hash', userId: owner.id, purpose: 'verify_email', email: owner.email, createdAt: now, expiresAt: now + 60_000, usedAt: undefined });
    assert.deepEqual([await store.use('once-hash', now), await store.use('once-hash', now)], [true, false]);
    await store.insert({ tokenHash: 'older-hash', userId: owner.id, purpose: 'reset_password', email: owner.email, createdAt: now, expiresAt: now + 60_000, usedAt: undefined });
    await store.voidUnused(owner.id, 'reset_password', now);
    assert.equal(await store.use('older-hash', now), false);
  });

  it('keeps a user’s 20 most recently used devices: a script that never sends its token back cannot grow the table', async () => {
    await module.users.createAccount({ email: 'script@example.com', password: 'plum tractor 42', displayName: 'Script', role: 'rider', plan: 'free' });
    const { deviceToken: first } = await module.users.login({ email: 'script@example.com', password: 'plum tractor 42' });
    for (let login = 0; login < 25; login += 1) {
      clock.advance(1000);
      await module.users.login({ email: 'script@example.com', password: 'plum tractor 42' });
    }
    const { rows } = await sql<{ count: number }>`select count(*)::int as count from known_devices where user_id = (select id from users where email = 'script@example.com')`.execute(engine.forService('user').db);
    assert.equal(rows[0]?.count, 20);
    const again = await module.users.login({ email: 'script@example.com', password: 'plum tractor 42', client: { deviceToken: first } });
    assert.notEqual(again.deviceToken, first, 'the oldest device was forgotten and gets a new token');
  });

  it('mails the owner of a taken address instead, and answers the same', async () => {
    received.length = 0;
    const first = await module.users.register({ email: 'taken@example.com', password: 'plum tractor 42', displayName: 'Tess' });
    const second = await module.users.register({ email: 'Taken@Example.com', password: 'other tractor 43', displayName: 'Mallory' });
    assert.deepEqual(second, first);
    await module.mailRelay?.deliverPending();
    assert.deepEqual(received.map((mail) => /Subject: (.*)/.exec(mail.raw)?.[1]), ['Confirm your carshare address', 'Someone tried to sign up with your carshare address']);
    await module.users.login({ email: 'taken@example.com', password: 'plum tractor 42' });
  });

  it('resets a password from the mailed link once, of two racing confirmations one wins', async () => {
    received.length = 0;
    await module.users.requestPasswordReset({ email: 'taken@example.com' });
    await module.mailRelay?.deliverPending();
    const token = tokenIn(received[0]?.raw ?? '');
    const results = await Promise.allSettled([
      module.users.confirmPasswordReset({ token, newPassword: 'first new passphrase' }),
      module.users.confirmPasswordReset({ token, newPassword: 'second new passphrase' }),
    ]);
    assert.deepEqual(results.map(reasonOf).sort(), ['INVALID_MAIL_TOKEN', 'ok']);
    const winner = results[0]?.status === 'fulfilled' ? 'first new passphrase' : 'second new passphrase';
    await module.users.login({ email: 'taken@example.com', password: winner });
  });

  it('throttles Login called straight on the RPC port, past the gateway: 8 wrong passwords, then the right one waits', async () => {
    await module.users.createAccount({ email: 'direct@example.com', password: 'plum tractor 42', displayName: 'Dee', role: 'rider', plan: 'free' });
    // A peer that may call Login at all (here: the gateway's laptop key, ADR 0012) and sends no client info.
    const identity = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('user', undefined);
    const call = (password: string) =>
      fetch(`${rpcBase}/rpc/user/Login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [serviceIdentityHeader]: identity },
        body: JSON.stringify({ email: 'direct@example.com', password }),
      });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) statuses.push((await call('wrong password!')).status);
    const right = await call('plum tractor 42');
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429, 429, 429]);
    assert.equal(right.status, 429);
    const body = (await right.json()) as { error: { code: string; reason: string } };
    assert.deepEqual([body.error.code, body.error.reason], ['RESOURCE_EXHAUSTED', 'LOGIN_THROTTLED']);
    assert.equal(right.headers.get('retry-after'), '1');
  });
});
