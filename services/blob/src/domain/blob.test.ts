import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlobContentType, BlobPurpose } from '@carshare/contracts';
import {
  blobTransitions,
  checkUploadRequest,
  mayAccess,
  mayTransition,
  objectKeyOf,
  parseStoreKey,
  purposeRules,
  uploadKeyOf,
  type BlobStatus,
} from './blob.ts';

const statuses: BlobStatus[] = ['pending', 'uploaded'];
const purposes = Object.keys(purposeRules) as BlobPurpose[];
const contentTypes: BlobContentType[] = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'];
const owner = '01890a5d-ac96-774b-bcce-b302099a8057';
const other = '01890a5d-ac96-774b-bcce-b302099a8058';

describe('blob domain', () => {
  it('allows exactly pending → uploaded, every other pair refused', () => {
    const allowed: string[] = [];
    for (const from of statuses) for (const to of statuses) if (mayTransition(from, to)) allowed.push(`${from}→${to}`);
    assert.deepEqual(allowed, ['pending→uploaded']);
    assert.deepEqual(Object.keys(blobTransitions).sort(), [...statuses].sort());
  });

  it('lets the owner, staff and platform services access a blob, and nobody else', () => {
    assert.equal(mayAccess(owner, { kind: 'user', userId: owner, staff: false }), true);
    assert.equal(mayAccess(owner, { kind: 'user', userId: other, staff: false }), false);
    assert.equal(mayAccess(owner, { kind: 'user', userId: other, staff: true }), true);
    assert.equal(mayAccess(owner, { kind: 'service' }), true);
  });

  it('takes images for every purpose, PDFs only for the licence, each within its size limit', () => {
    for (const purpose of purposes) {
      for (const contentType of contentTypes) {
        const expected = contentType === 'application/pdf' && !purpose.startsWith('licence_') ? 'TYPE_NOT_ALLOWED' : undefined;
        assert.equal(checkUploadRequest(purpose, contentType, 1), expected, `${purpose} ${contentType}`);
      }
      const { maxBytes } = purposeRules[purpose];
      assert.equal(checkUploadRequest(purpose, 'image/jpeg', maxBytes), undefined);
      assert.equal(checkUploadRequest(purpose, 'image/jpeg', maxBytes + 1), 'TOO_LARGE');
    }
    assert.equal(checkUploadRequest('licence_front', 'image/jpeg', 20 * 1024 * 1024), 'TOO_LARGE');
    assert.equal(purposeRules.avatar.maxBytes, 2 * 1024 * 1024);
  });

  it('keeps unchecked uploads and checked objects under different keys, and reads only its own keys back', () => {
    assert.notEqual(uploadKeyOf(owner), objectKeyOf(owner));
    assert.deepEqual(parseStoreKey(uploadKeyOf(owner)), { kind: 'upload', blobId: owner });
    assert.deepEqual(parseStoreKey(objectKeyOf(owner)), { kind: 'object', blobId: owner });
    for (const foreign of ['object/../etc/passwd', `object/${owner}/x`, `other/${owner}`, owner, '', `object/${owner.toUpperCase()}`]) {
      assert.equal(parseStoreKey(foreign), undefined, foreign);
    }
  });
});
