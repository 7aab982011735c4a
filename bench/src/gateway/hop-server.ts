/**
 * Child process for the gateway benchmark's reference hop (`--hop`): fastify → undici Pool →
 * fastify in one process, the same shape as gateway → user but with none of our layers. What
 * /v1/me costs beyond this is ours (hooks, auth, tracing, metrics, the database).
 *
 * `GET /two` is the shape of today's /v1/me (DOMAIN: the account plus the active reservation and
 * trip): two undici calls side by side, to two back ends (user's and trip's), each its own Pool.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
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

// The same two calls over a framed wire (the candidate issue 9 left after h2c, ADR 0013): one
// persistent TCP connection per back end, newline-delimited JSON frames with an id, so replies
// may come in any order and several requests share a read. Each frame carries what our headers
// carry (deadline, request id, traceparent, a ~200-character service identity), so the bytes
// are alike; the back end answers every frame of a read under one cork (one write).
const frameMetadata = {
  deadlineMs: 2_000,
  requestId: '0b7e8b4e-6c1a-4f43-9a55-3c2d1f0e9a77',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
  identity: `v1.gateway.user.1796435101.00000000-0000-7000-8000-000000000000.rider.free.0193a1b2-0000-7000-8000-000000000001.${'x'.repeat(86)}`,
};
function framedBackEnd(answer: (method: string, body: unknown) => unknown): Server {
  return createServer((socket) => {
    socket.setNoDelay(true);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end = buffered.indexOf('\n');
      if (end < 0) return;
      socket.cork();
      while (end >= 0) {
        const frame = JSON.parse(buffered.slice(0, end)) as { id: number; method: string; body: unknown };
        buffered = buffered.slice(end + 1);
        socket.write(`${JSON.stringify({ id: frame.id, result: answer(frame.method, frame.body) })}\n`);
        end = buffered.indexOf('\n');
      }
      process.nextTick(() => socket.uncork());
    });
  });
}
function framedClient(port: number): { call(method: string, body: unknown): Promise<unknown>; socket: Socket } {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  socket.setEncoding('utf8');
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 0;
  let buffered = '';
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf('\n');
    while (end >= 0) {
      const reply = JSON.parse(buffered.slice(0, end)) as { id: number; result: unknown };
      buffered = buffered.slice(end + 1);
      pending.get(reply.id)?.(reply.result);
      pending.delete(reply.id);
      end = buffered.indexOf('\n');
    }
  });
  return {
    socket,
    call: (method, body) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        socket.write(`${JSON.stringify({ id, method, meta: frameMetadata, body })}\n`);
      }),
  };
}
const framedUser = framedBackEnd((_method, body) => ({ echoed: body }));
const framedTrip = framedBackEnd((_method, body) => ({ reservation: null, trip: null, for: body }));
const listenOn = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
const framedUserClient = framedClient(await listenOn(framedUser));
const framedTripClient = framedClient(await listenOn(framedTrip));
front.get('/two-framed', async () => {
  const input = { userId: '00000000-0000-7000-8000-000000000000' };
  const [user, activity] = await Promise.all([framedUserClient.call('user.GetUser', input), framedTripClient.call('trip.GetMyActivity', input)]);
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
  framedUserClient.socket.destroy();
  framedTripClient.socket.destroy();
  framedUser.close();
  framedTrip.close();
  await backH2.close();
});
announceReady({ url, backUrl });
