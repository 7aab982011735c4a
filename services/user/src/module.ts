import { fileURLToPath } from 'node:url';
import { userRpc } from '@carshare/contracts';
import type { Observability } from '@carshare/observability';
import {
  createAccessTokenVerifier,
  createHttpServer,
  registerRpcService,
  systemClock,
  uuidV7Ids,
  type Clock,
  type HttpServer,
  type IdGenerator,
} from '@carshare/platform';
import type { ServiceDatabase } from '@carshare/storage';
import { Argon2PasswordHasher } from './adapters/argon2-password-hasher.ts';
import { JoseAccessTokenSigner } from './adapters/jose-access-token-signer.ts';
import { SqlRefreshTokenStore } from './adapters/sql-refresh-token-store.ts';
import { SqlUserStore } from './adapters/sql-user-store.ts';
import { userRpcHandlers } from './api/rpc-handlers.ts';
import type { UserConfig } from './config.ts';
import type { PasswordHasher } from './ports.ts';
import { createUserService, type UserService } from './user-service.ts';

export const userMigrationsDir = fileURLToPath(new URL('../migrations', import.meta.url));

export interface UserModuleDeps {
  config: UserConfig;
  observability: Observability;
  database: ServiceDatabase;
  clock?: Clock;
  ids?: IdGenerator;
  /** Tests swap argon2 (~20 ms per hash) for something cheaper where hashing is not the point. */
  passwords?: PasswordHasher;
}

export interface UserModule {
  name: 'user';
  server: HttpServer;
  users: UserService;
  signer: JoseAccessTokenSigner;
  /** Migrates the schema and loads signing keys; the server answers only after this. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The user service wired to its ports: a library first, so `carshare up` and `main.ts` share it. */
export function createUserModule(deps: UserModuleDeps): UserModule {
  const { config, observability, database } = deps;
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? uuidV7Ids;
  const signer = new JoseAccessTokenSigner(database, clock, ids, {
    accessTokenTtlSeconds: config.auth.accessTokenTtlSeconds,
    reloadIntervalMs: config.auth.keyReloadIntervalMs,
  });
  const users = createUserService({
    users: new SqlUserStore(database),
    refreshTokens: new SqlRefreshTokenStore(database),
    passwords: deps.passwords ?? new Argon2PasswordHasher(),
    accessTokens: signer,
    clock,
    ids,
    refreshTokenTtlMs: config.auth.refreshTokenTtlDays * 24 * 60 * 60 * 1000,
  });
  const verifier = createAccessTokenVerifier({ keys: signer.keyLookup, clock });

  const server = createHttpServer({
    observability,
    clock,
    errorStyle: 'rpc',
    bodyLimitBytes: config.http.bodyLimitBytes,
    defaultDeadlineMs: config.http.defaultDeadlineMs,
    readiness: [{ name: 'database', check: () => database.ping() }],
  });
  registerRpcService(server, userRpc, userRpcHandlers(users), { observability, authenticate: (token) => verifier.verify(token) });
  server.get('/.well-known/jwks.json', async (_request, reply) => {
    void reply.header('cache-control', 'public, max-age=300');
    return signer.jwks();
  });

  return {
    name: 'user',
    server,
    users,
    signer,
    async start() {
      await database.migrate(userMigrationsDir);
      await signer.start();
      await server.ready();
    },
    async close() {
      await server.close();
      signer.stop();
    },
  };
}
