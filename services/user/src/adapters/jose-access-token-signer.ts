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
import type { ServiceDatabase } from '@carshare/storage';
import type { Kysely } from 'kysely';
import type { User } from '../domain/user.ts';
import type { AccessTokenSigner } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';

export interface SigningKeyOptions {
  accessTokenTtlSeconds: number;
  /** How often to pick up keys another instance (or `carshare keys rotate`) created. */
  reloadIntervalMs: number;
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
  }

  /** Loads keys, creating the first one on a fresh database. */
  async start(): Promise<void> {
    await this.reload();
    if (!this.#current) {
      await this.rotate();
    }
    this.#reloadTimer = setInterval(() => {
      this.reload().catch(() => undefined);
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
        .values({ kid, public_jwk: JSON.stringify(publicJwk), private_jwk: JSON.stringify(privateJwk), created_at: now })
        .execute();
    });
    await this.reload();
    return kid;
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
        privateKey: (await importJWK(active.private_jwk as JWK, accessTokenAlgorithm)) as CryptoKey,
        publicJwk: active.public_jwk,
        createdAt: new Date(active.created_at).getTime(),
      };
    }
    this.#published = {
      keys: rows.map((row) => row.public_jwk as JWK),
    };
    this.#localKeySet = createLocalJWKSet(this.#published);
  }

  async sign(user: User): Promise<{ token: string; expiresIn: number }> {
    const key = this.#current;
    if (!key) throw new Error('signing keys are not loaded: start() was not called');
    const nowSeconds = Math.floor(this.#clock.now() / 1000);
    const expiresIn = this.#options.accessTokenTtlSeconds;
    const token = await new SignJWT({ role: user.role, plan: user.plan })
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
