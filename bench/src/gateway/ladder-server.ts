/**
 * Child process for the gateway ladder: the /v1/me path rebuilt one layer at a time from the
 * real library pieces, with the database replaced by a fixed answer, so each step's cost is the
 * difference between two rungs.
 *
 *   node --import tsx ladder-server.ts <rung> <sampleRatio>
 *
 *   http-server   libs/platform createHttpServer + GET /hello (hooks, span, timer, metrics)
 *   rpc-stub      + registerRpcService(userRpc) with a stub GetUser (validation, auth, serialisation)
 *   front-undici  createHttpServer GET /v1/me → a bare undici Pool → rpc-stub (our server factory on both sides)
 *   front-rpc     createHttpServer GET /v1/me → createRpcClient(userRpc) → rpc-stub (+ our RPC client)
 *   gateway-stub  the real gateway module in front of rpc-stub (+ cors, swagger, route schemas,
 *                 token check, gatherParts)
 *
 * The stub user service publishes a JWKS and signs the token it announces, exactly as the user
 * service does, so the gateway's and the RPC server's token checks run unchanged.
 */
import { userRpc } from '@carshare/contracts';
import { createGatewayModule, loadGatewayConfig } from '@carshare/gateway-service';
import { registeredService } from '@carshare/service-kit';
import { userDescriptor } from '@carshare/user-service';
import { createObservability } from '@carshare/observability';
import {
  accessTokenAlgorithm,
  accessTokenAudience,
  accessTokenIssuer,
  createHttpServer,
  createRpcClient,
  laptopServiceKeys,
  registerRpcService,
  serviceIdentityHeader,
  ServiceIdentitySigner,
  StaticDiscovery,
  type Caller,
  type RpcHandlers,
} from '@carshare/platform';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { Pool } from 'undici';
import { announceReady, closeWithParent } from '../child-protocol.ts';

const ladderRungs = ['http-server', 'rpc-stub', 'front-undici', 'front-rpc', 'gateway-stub'] as const;
type LadderRung = (typeof ladderRungs)[number];

const [rung, sampleRatioArg] = process.argv.slice(2) as [LadderRung | undefined, string | undefined];
if (!rung || !(ladderRungs as readonly string[]).includes(rung)) throw new Error(`usage: ladder-server.ts <${ladderRungs.join('|')}> <sampleRatio>`);
const sampleRatio = Number(sampleRatioArg ?? '1');

function observability(service: string) {
  // As the embedded platform without an OTLP endpoint: spans are made and sampled, then dropped.
  return createObservability({ service, logLevel: 'warn', prettyLogs: false, sampleRatio, processMetrics: false, logDestination: process.stderr });
}

const riderId = '0195d2c4-0000-7000-8000-000000000001';
const riderCaller: Caller = { userId: riderId, role: 'rider', plan: 'free' };
const wireUser = {
  id: riderId,
  email: 'rider@carshare.local',
  displayName: 'Demo Rider',
  role: 'rider',
  plan: 'free',
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  emailVerified: true,
} as const;

const closers: (() => Promise<void>)[] = [];
let announced: Record<string, unknown>;

if (rung === 'http-server') {
  const app = createHttpServer({ observability: observability('ladder'), errorStyle: 'rpc' });
  app.get('/hello', async () => ({ hello: 'world' }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  announced = { url: `${url}/hello`, method: 'GET' };
} else {
  const { privateKey, publicKey } = await generateKeyPair(accessTokenAlgorithm, { crv: 'Ed25519', extractable: true });
  const kid = 'ladder-key';
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: accessTokenAlgorithm, use: 'sig' }] };
  const nowSeconds = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ role: 'rider', plan: 'free' })
    .setProtectedHeader({ alg: accessTokenAlgorithm, kid, typ: 'JWT' })
    .setSubject(riderId)
    .setIssuer(accessTokenIssuer)
    .setAudience(accessTokenAudience)
    .setIssuedAt(nowSeconds)
    .setNotBefore(nowSeconds)
    .setExpirationTime(nowSeconds + 3600)
    .sign(privateKey);

  const userObservability = observability('user');
  const user = createHttpServer({ observability: userObservability, errorStyle: 'rpc' });
  const notMeasured = async (): Promise<never> => {
    throw new Error('not part of the ladder');
  };
  // Every method of the contract is mounted (as in the user service); only GetUser is measured.
  const getUser: RpcHandlers<typeof userRpc.methods>['GetUser'] = async (input) => ({ ...wireUser, id: input.userId });
  const handlers = {
    ...Object.fromEntries(Object.keys(userRpc.methods).map((name) => [name, notMeasured])),
    GetUser: getUser,
  } as unknown as RpcHandlers<typeof userRpc.methods>;
  registerRpcService(user, userRpc, handlers, { observability: userObservability });
  user.get('/.well-known/jwks.json', async () => jwks);
  const userUrl = await user.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => user.close());

  if (rung === 'rpc-stub') {
    // As the gateway calls it: with its signed identity for the rider (ADR 0012; it lives 60 s, longer than a rung's run).
    const identity = new ServiceIdentitySigner('gateway', laptopServiceKeys()).identityFor('user', riderCaller);
    announced = { url: `${userUrl}/rpc/user/GetUser`, method: 'POST', identity, body: JSON.stringify({ userId: riderId }) };
  } else if (rung === 'front-undici' || rung === 'front-rpc') {
    // The gateway's shape without the gateway module: our server factory in front, and either a
    // bare pool or our RPC client behind; the token is passed on but not checked here, and the
    // front calls as the gateway (ADR 0012): the bare pool with one identity made per minute.
    const frontObservability = observability('gateway');
    const frontSigner = new ServiceIdentitySigner('gateway', laptopServiceKeys());
    const front = createHttpServer({ observability: frontObservability, errorStyle: 'public' });
    const body = JSON.stringify({ userId: riderId });
    if (rung === 'front-undici') {
      const pool = new Pool(userUrl, { connections: 32, keepAliveTimeout: 30_000 });
      front.get('/v1/me', async () => {
        const response = await pool.request({
          path: '/rpc/user/GetUser',
          method: 'POST',
          headers: { 'content-type': 'application/json', [serviceIdentityHeader]: frontSigner.identityFor('user', riderCaller) },
          body,
        });
        return { user: await response.body.json(), partial: [] };
      });
      closers.push(() => pool.close());
    } else {
      const client = createRpcClient(userRpc, { discovery: new StaticDiscovery({ user: [userUrl] }), observability: frontObservability });
      front.get('/v1/me', async (request) => {
        request.ctx.caller = { ...riderCaller, token };
        return { user: await client.GetUser({ userId: riderId }, request.ctx), partial: [] };
      });
      closers.push(() => client.close());
    }
    const frontUrl = await front.listen({ host: '127.0.0.1', port: 0 });
    closers.unshift(() => front.close());
    announced = { url: `${frontUrl}/v1/me`, method: 'GET', token };
  } else {
    const config = loadGatewayConfig({
      'log.level': 'warn',
      'log.pretty': false,
      'tracing.sampleRatio': sampleRatio,
      'http.host': '127.0.0.1',
      'http.port': 0,
    });
    const gateway = createGatewayModule({
      config,
      observability: createObservability({ service: 'gateway', logLevel: 'warn', prettyLogs: false, sampleRatio, processMetrics: true, logDestination: process.stderr }),
      discovery: new StaticDiscovery({ user: [userUrl] }),
      services: [registeredService(userDescriptor)],
    });
    await gateway.start();
    const gatewayUrl = await gateway.server.listen({ host: '127.0.0.1', port: 0 });
    closers.unshift(() => gateway.close());
    announced = { url: `${gatewayUrl}/v1/me`, method: 'GET', token };
  }
}

closeWithParent(async () => {
  for (const close of closers) await close();
});
announceReady(announced);
