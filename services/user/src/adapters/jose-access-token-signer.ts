import { accessTokenAlgorithm, accessTokenAudience, accessTokenIssuer, type Clock, type IdGenerator } from '@carshare/platform';
import {
  SignJWT,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import type { Logger } from '@carshare/observability';
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { User } from '../domain/user.ts';
import type { AccessTokenSigner } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';
import type { SigningKeyMetrics } from './signing-key-metrics.ts';
import { SigningKeyVault, type StoredPrivateKey } from './signing-key-vault.ts';

export interface SigningKeyOptions {
  accessTokenTtlSeconds: number;
  /** How often to pick up keys another instance (or `carshare keys rotate`) created. */
  reloadIntervalMs: number;
  /** Seals private keys at rest; without one they are stored in the clear. */
  vault?: SigningKeyVault;
  /** Hears of failed periodic reloads: this instance then signs with keys that may be retired. */
  logger: Logger;
  metrics: SigningKeyMetrics;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  createdAt: number;
}

/**
 * Ed25519 keys live in the service's own schema so every instance signs with the same key and
 * a rotation reaches all of them. Retired keys stay published until every token they signed
 * has expired, so a rotation never logs anybody out.
 */
export class JoseAccessTokenSigner implements AccessTokenSigner {
  readonly #database: ServiceDatabase;
  readonly #db: Kysely<UserDatabase>;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #options: SigningKeyOptions;
  readonly #vault: SigningKeyVault;
  #current: SigningKey | undefined;
  #published: JSONWebKeySet = { keys: [] };
  #localKeySet: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  #reloadTimer: NodeJS.Timeout | undefined;

  constructor(database: ServiceDatabase, clock: Clock, ids: IdGenerator, options: SigningKeyOptions) {
    this.#database = database;
    this.#db = database.db as Kysely<UserDatabase>;
    this.#clock = clock;
    this.#ids = ids;
    this.#options = options;
    this.#vault = options.vault ?? new SigningKeyVault(undefined);
  }

  /** Seals keys stored in the clear (once a KEK is configured), loads keys, creates the first one on a fresh database. */
  async start(): Promise<void> {
    await this.#sealKeysInTheClear();
    await this.reload();
    if (!this.#current) {
      await this.rotate();
    }
    this.#reloadTimer = setInterval(() => {
      void this.#reloadInBackground();
    }, this.#options.reloadIntervalMs);
    this.#reloadTimer.unref();
  }

  stop(): void {
    clearInterval(this.#reloadTimer);
  }

  /** A new key signs from now on; the previous ones are retired but still verify. */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(accessTokenAlgorithm, { crv: 'Ed25519', extractable: true });
    const kid = this.#ids.next();
    const now = new Date(this.#clock.now());
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: accessTokenAlgorithm, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: accessTokenAlgorithm };
    await this.#database.transaction(async (transaction) => {
      const trx = transaction as unknown as Kysely<UserDatabase>;
      await trx.updateTable('signing_keys').set({ retired_at: now }).where('retired_at', 'is', null).execute();
      await trx
        .insertInto('signing_keys')
        .values({ kid, public_jwk: JSON.stringify(publicJwk), private_jwk: JSON.stringify(await this.#vault.seal(privateJwk)), created_at: now })
        .execute();
    });
    await this.reload();
    return kid;
  }

  // A failed reload leaves the last loaded keys in use, which is right for a blip but wrong for
  // good if it persists (a rotation elsewhere is never picked up): the error log and the
  // last-success timestamp make that visible instead of silent.
  async #reloadInBackground(): Promise<void> {
    try {
      await this.reload();
    } catch (error) {
      this.#options.metrics.reloadFailed();
      this.#options.logger.error(
        { err: error, signingKid: this.#current?.kid },
        'signing keys could not be reloaded: still signing with the last loaded key, which may have been rotated out',
      );
    }
  }

  async reload(): Promise<void> {
    const oldestLiveToken = new Date(this.#clock.now() - this.#options.accessTokenTtlSeconds * 1000 - 60_000);
    const rows = await this.#db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', oldestLiveToken)]))
      .orderBy('created_at', 'desc')
      .execute();
    const active = rows.find((row) => row.retired_at === null);
    if (active && active.kid !== this.#current?.kid) {
      this.#current = {
        kid: active.kid,
        privateKey: (await importJWK(await this.#vault.open(active.private_jwk as StoredPrivateKey, active.kid), accessTokenAlgorithm)) as CryptoKey,
        publicJwk: active.public_jwk,
        createdAt: new Date(active.created_at).getTime(),
      };
    }
    this.#published = {
      keys: rows.map((row) => row.public_jwk as JWK),
    };
    this.#localKeySet = createLocalJWKSet(this.#published);
    this.#options.metrics.reloaded(this.#clock.now());
  }

  // Keys from before a KEK was configured are sealed in place; several instances doing this at
  // once each write a valid sealing of the same key.
  async #sealKeysInTheClear(): Promise<void> {
    if (!this.#vault.seals) return;
    const rows = await this.#db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    for (const row of rows) {
      const stored = row.private_jwk as StoredPrivateKey;
      if (!this.#vault.needsSealing(stored)) continue;
      const sealed = await this.#vault.seal(stored as JWK);
      await this.#db.updateTable('signing_keys').set({ private_jwk: JSON.stringify(sealed) }).where('kid', '=', row.kid).execute();
    }
  }

  get tokenTtlMs(): number {
    return this.#options.accessTokenTtlSeconds * 1000;
  }

  /**
   * `iat`, `nbf` and `exp` (bounded by the configured lifetime, at most an hour by config), and
   * `sid`: the session (refresh-token family), so that one logout can be revoked precisely.
   */
  async sign(user: User, sessionId: string): Promise<{ token: string; expiresIn: number }> {
    const key = this.#current;
    if (!key) throw new Error('signing keys are not loaded: start() was not called');
    const nowSeconds = Math.floor(this.#clock.now() / 1000);
    const expiresIn = this.#options.accessTokenTtlSeconds;
    const token = await new SignJWT({ role: user.role, plan: user.plan, sid: sessionId })
      .setProtectedHeader({ alg: accessTokenAlgorithm, kid: key.kid, typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(accessTokenIssuer)
      .setAudience(accessTokenAudience)
      .setIssuedAt(nowSeconds)
      .setNotBefore(nowSeconds)
      .setExpirationTime(nowSeconds + expiresIn)
      .setJti(this.#ids.next())
      .sign(key.privateKey);
    return { token, expiresIn };
  }

  async jwks(): Promise<JSONWebKeySet> {
    return this.#published;
  }

  readonly keyLookup: JWTVerifyGetKey = (header, token) => this.#localKeySet(header, token);
}
