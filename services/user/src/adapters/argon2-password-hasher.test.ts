import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '@carshare/observability';
import { captureLogs } from '@carshare/testing';
import { Argon2PasswordHasher } from './argon2-password-hasher.ts';

const userId = '0190a4c2-1234-7abc-8def-0123456789ab';

function hasherWithLogs() {
  const logs = captureLogs();
  const hasher = new Argon2PasswordHasher(createLogger({ service: 'user', level: 'info', pretty: false, destination: logs.destination }));
  return { hasher, logs };
}

describe('Argon2PasswordHasher', () => {
  it('accepts the right password, refuses a wrong one, and logs nothing for either', async () => {
    const { hasher, logs } = hasherWithLogs();
    const stored = await hasher.hash('correct horse battery');
    assert.equal(await hasher.verify(stored, 'correct horse battery', userId), true);
    assert.equal(await hasher.verify(stored, 'wrong horse battery', userId), false);
    assert.deepEqual(logs.lines(), []);
  });

  it('refuses a login against an unreadable stored hash and logs an error naming the user, never the hash', async () => {
    const { hasher, logs } = hasherWithLogs();
    const corrupt = (await hasher.hash('correct horse battery')).slice(0, 40);
    assert.equal(await hasher.verify(corrupt, 'correct horse battery', userId), false);
    const [line, ...others] = logs.at('error');
    assert.ok(line, 'no error line for an unreadable hash');
    assert.equal(others.length, 0);
    assert.equal(line['userId'], userId);
    assert.match(String(line['msg']), /unreadable/);
    assert.ok(!logs.text().includes(corrupt), 'the stored hash reached the log');
  });
});
