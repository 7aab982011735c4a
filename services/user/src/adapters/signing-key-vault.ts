import { createHash } from 'node:crypto';
import { ConfigError } from '@carshare/platform';
import { CompactEncrypt, base64url, compactDecrypt, decodeProtectedHeader, type JWK } from 'jose';

/** What the `private_jwk` column holds: the JWK itself, or a JWE of it under the KEK. */
export type StoredPrivateKey = JWK | SealedPrivateKey;

interface SealedPrivateKey {
  jwe: string;
}

const keyEncryptionKeyVariable = 'USER_KEY_ENCRYPTION_KEY';

function isSealed(stored: StoredPrivateKey): stored is SealedPrivateKey {
  return typeof (stored as Partial<SealedPrivateKey>).jwe === 'string';
}

/**
 * Keeps the private signing keys sealed at rest (ADR 0006): with a key-encryption key (KEK), a
 * private JWK is stored as a compact JWE (`dir` + A256GCM, jose), whose header names the KEK by a
 * fingerprint, so a wrong or missing KEK fails start-up with a ConfigError instead of signing garbage.
 * Without a KEK, keys are stored as they are (the embedded laptop default).
 */
export class SigningKeyVault {
  readonly #kek: Uint8Array | undefined;
  readonly #kekId: string | undefined;

  /** `keyEncryptionKey`: 32 bytes, base64url (what `USER_KEY_ENCRYPTION_KEY` holds). */
  constructor(keyEncryptionKey: string | undefined) {
    if (keyEncryptionKey === undefined) return;
    const kek = base64url.decode(keyEncryptionKey);
    if (kek.length !== 32) throw new ConfigError(`${keyEncryptionKeyVariable} must be 32 bytes in base64url (43 characters)`);
    this.#kek = kek;
    // A fingerprint, not the key: enough to tell which KEK sealed a row.
    this.#kekId = createHash('sha256').update(kek).digest('base64url').slice(0, 16);
  }

  get seals(): boolean {
    return this.#kek !== undefined;
  }

  /** Whether a stored key is in the clear although this vault could seal it. */
  needsSealing(stored: StoredPrivateKey): boolean {
    return this.seals && !isSealed(stored);
  }

  async seal(privateJwk: JWK): Promise<StoredPrivateKey> {
    if (!this.#kek) return privateJwk;
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(privateJwk)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.#kekId, cty: 'jwk+json' })
      .encrypt(this.#kek);
    return { jwe };
  }

  /** The private JWK of signing key `kid`, checked to belong to that key. */
  async open(stored: StoredPrivateKey, kid: string): Promise<JWK> {
    if (!isSealed(stored)) return stored;
    if (!this.#kek) {
      throw new ConfigError(`signing key ${kid} is encrypted: set ${keyEncryptionKeyVariable} to the key-encryption key it was sealed with`);
    }
    const sealedWith = decodeProtectedHeader(stored.jwe).kid;
    if (sealedWith !== this.#kekId) {
      throw new ConfigError(
        `signing key ${kid} was sealed with another ${keyEncryptionKeyVariable} (fingerprint ${String(sealedWith)}; this one is ${this.#kekId})`,
      );
    }
    const { plaintext } = await compactDecrypt(stored.jwe, this.#kek);
    const privateJwk = JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
    // The header is authenticated but the row's kid is not: a sealed key moved to another row
    // must not sign under that row's name.
    if (privateJwk.kid !== kid) throw new ConfigError(`the sealed key stored as ${kid} belongs to ${String(privateJwk.kid)}`);
    return privateJwk;
  }
}
