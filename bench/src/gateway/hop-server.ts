/**
 * Child process for the gateway benchmark's reference hop (`--hop`): fastify → undici Pool →
 * fastify in one process, the same shape as gateway → user but with none of our layers. What
 * /v1/me costs beyond this is ours (hooks, auth, tracing, metrics, the database).
 *
 * `GET /two` is the shape of today's /v1/me (DOMAIN: the account plus the active reservation and
 * trip): two undici calls side by side, to two back ends (user's and trip's), each its own Pool.
 */
import Fastify from 'fastify';
import { Client, Pool } from 'undici';
import { announceReady, closeWithParent } from '../child-protocol.ts';

const back = Fastify({ logger: false });
back.post('/rpc/echo', async (request) => ({ echoed: request.body }));
const backUrl = await back.listen({ host: '127.0.0.1', port: 0 });

// Same pool settings as libs/platform's RPC client, so the comparison is like for like.
const pool = new Pool(backUrl, { connections: 32, keepAliveTimeout: 30_000 });
const front = Fastify({ logger: false });
front.get('/', async () => {
  const response = await pool.request({
    path: '/rpc/echo',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: '00000000-0000-7000-8000-000000000000' }),
  });
  return { hop: await response.body.json() };
});

// The same hop over HTTP/2 cleartext (prior knowledge, no upgrade): fastify's http2 server and
// undici's h2 client, one multiplexed connection: the candidate wire of issue 9 (ADR 0013).
const backH2 = Fastify({ logger: false, http2: true });
backH2.post('/rpc/echo', async (request) => ({ echoed: request.body }));
const backH2Url = await backH2.listen({ host: '127.0.0.1', port: 0 });
// A Client, not a Pool: undici 7's Pool does not pass useH2c on to its connections (which its
// type declarations do not list either, though Client reads it).
const h2cOptions = { allowH2: true, useH2c: true, maxConcurrentStreams: 128, keepAliveTimeout: 30_000 };
const poolH2 = new Client(backH2Url, h2cOptions as Client.Options);
front.get('/h2', async () => {
  const response = await poolH2.request({
    path: '/rpc/echo',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: '00000000-0000-7000-8000-000000000000' }),
  });
  return { hop: await response.body.json() };
});
// The second back end of /two: the activity part, as the trip service answers it for a rider
// with nothing active.
const backTwo = Fastify({ logger: false });
backTwo.post('/rpc/activity', async (request) => ({ reservation: null, trip: null, for: request.body }));
const backTwoUrl = await backTwo.listen({ host: '127.0.0.1', port: 0 });
const poolTwo = new Pool(backTwoUrl, { connections: 32, keepAliveTimeout: 30_000 });
front.get('/two', async () => {
  const call = (target: Pool, path: string) =>
    target
      .request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: '00000000-0000-7000-8000-000000000000' }) })
      .then((response) => response.body.json());
  const [user, activity] = await Promise.all([call(pool, '/rpc/echo'), call(poolTwo, '/rpc/activity')]);
  return { user, activity };
});

const url = await front.listen({ host: '127.0.0.1', port: 0 });

closeWithParent(async () => {
  await front.close();
  await pool.close();
  await poolTwo.close();
  await poolH2.close();
  await back.close();
  await backTwo.close();
  await backH2.close();
});
announceReady({ url, backUrl });
