import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canChangeStatus, mayManage, normalizeEmail } from './user.ts';
import { judgeRefresh, type RefreshTokenRecord } from './refresh-token.ts';

describe('user rules', () => {
  it('normalises emails to trimmed lower case', () => {
    assert.equal(normalizeEmail('  Ada@Example.COM '), 'ada@example.com');
  });

  it('allows exactly active ↔ suspended', () => {
    assert.equal(canChangeStatus('active', 'suspended'), true);
    assert.equal(canChangeStatus('suspended', 'active'), true);
    assert.equal(canChangeStatus('active', 'active'), false);
    assert.equal(canChangeStatus('suspended', 'suspended'), false);
  });

  it('lets operators manage riders and operators but not admins', () => {
    assert.equal(mayManage('operator', 'rider'), true);
    assert.equal(mayManage('operator', 'operator'), true);
    assert.equal(mayManage('operator', 'admin'), false);
    assert.equal(mayManage('admin', 'admin'), true);
    assert.equal(mayManage('rider', 'rider'), false);
  });
});

describe('refresh token judgement', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const fresh: RefreshTokenRecord = {
    tokenHash: 'h', familyId: 'f', userId: 'u', issuedAt: now - 1000, expiresAt: now + 1000, rotatedAt: undefined, revokedAt: undefined,
  };

  it('rotates a live token', () => assert.deepEqual(judgeRefresh(fresh, now), { kind: 'rotate' }));
  it('rejects an unknown token', () => assert.deepEqual(judgeRefresh(undefined, now), { kind: 'invalid' }));
  it('rejects a token at its expiry instant, accepts it 1 ms before', () => {
    assert.deepEqual(judgeRefresh(fresh, now + 1000), { kind: 'invalid' });
    assert.deepEqual(judgeRefresh(fresh, now + 999), { kind: 'rotate' });
  });
  it('rejects a revoked token', () => assert.deepEqual(judgeRefresh({ ...fresh, revokedAt: now - 1 }, now), { kind: 'invalid' }));
  it('flags a rotated token as reuse', () => assert.deepEqual(judgeRefresh({ ...fresh, rotatedAt: now - 1 }, now), { kind: 'reused' }));
});
